/* A very small test harness for the C tests of libbittern.
 *
 * CHECK(cond) and CHECK_RESULT(call, expected) count passes and print each failure with its
 * file and line; finish() prints "NAME: N passed, M failed" (tests/c/run adds these lines up)
 * and gives the exit status. */
#ifndef BITTERN_TEST_CHECK_H
#define BITTERN_TEST_CHECK_H

#include <bittern.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int checks_passed;
static int checks_failed;

static inline void check(int ok, const char *what, const char *file, int line)
{
    if (ok) {
        checks_passed++;
        return;
    }
    checks_failed++;
    printf("FAIL %s:%d: %s\n", file, line, what);
}

static inline void check_result(bittern_result got, bittern_result want, const char *what,
                         const char *file, int line)
{
    if (got == want) {
        checks_passed++;
        return;
    }
    checks_failed++;
    char message[512];
    bittern_last_error_message(message, sizeof message);
    printf("FAIL %s:%d: %s gave %s, expected %s (last error: %s)\n", file, line, what,
           bittern_result_name(got), bittern_result_name(want), message);
}

#define CHECK(cond) check((cond) ? 1 : 0, #cond, __FILE__, __LINE__)
#define CHECK_RESULT(call, want) check_result((call), (want), #call, __FILE__, __LINE__)
#define CHECK_OK(call) CHECK_RESULT(call, BITTERN_RESULT_OK)

/* Like CHECK(cond), with a printf-style explanation of the case on failure. */
#define CHECKF(cond, ...)                                                                        \
    do {                                                                                         \
        if (cond) {                                                                              \
            checks_passed++;                                                                     \
        } else {                                                                                 \
            checks_failed++;                                                                     \
            printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                               \
            printf(__VA_ARGS__);                                                                 \
            printf("\n");                                                                        \
        }                                                                                        \
    } while (0)

static inline int finish(const char *name)
{
    printf("%s: %d passed, %d failed\n", name, checks_passed, checks_failed);
    return checks_failed == 0 ? 0 : 1;
}

/* Reads a whole file into a malloc'd buffer; NULL if it cannot. */
static inline unsigned char *read_file(const char *path, size_t *len_out)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    size_t cap = 4096, len = 0;
    unsigned char *data = malloc(cap);
    size_t n;
    while (data != NULL && (n = fread(data + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            unsigned char *bigger = realloc(data, cap *= 2);
            if (bigger == NULL) {
                free(data);
            }
            data = bigger;
        }
    }
    fclose(f);
    *len_out = len;
    return data;
}

static inline int write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        return 0;
    }
    int ok = fwrite(data, 1, len, f) == len;
    return fclose(f) == 0 && ok;
}

/* Whether the calling thread's last error holds `part`. */
static inline int last_error_has(const char *part)
{
    char message[1024];
    bittern_last_error_message(message, sizeof message);
    return strstr(message, part) != NULL;
}

#define CHECK_LAST_ERROR_HAS(part)                                                               \
    do {                                                                                         \
        char message_[1024];                                                                     \
        bittern_last_error_message(message_, sizeof message_);                                   \
        CHECKF(last_error_has(part), "last error %s lacks \"%s\"", message_, part);               \
    } while (0)

#endif
