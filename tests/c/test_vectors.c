/* The shared vectors (tests/vectors/bencode.txt and torrents.txt, format at the top of
 * tests/vectors/make_vectors.py) through the C interface.
 *
 * Usage: test_vectors VECTORS_DIR */
#define _POSIX_C_SOURCE 200809L

#include "check.h"

#include <inttypes.h>

/* Decodes hex ("-" for no bytes) into a new buffer; returns its length, or -1 on bad hex. */
static long from_hex(const char *hex, unsigned char **out)
{
    size_t n = strcmp(hex, "-") == 0 ? 0 : strlen(hex);
    if (n % 2 != 0) {
        return -1;
    }
    unsigned char *bytes = malloc(n / 2 + 1);
    for (size_t i = 0; i < n / 2; i++) {
        unsigned int byte;
        if (bytes == NULL || sscanf(hex + 2 * i, "%2x", &byte) != 1) {
            free(bytes);
            return -1;
        }
        bytes[i] = (unsigned char)byte;
    }
    *out = bytes;
    return (long)(n / 2);
}

static uint64_t last_offset(void)
{
    uint64_t offset = UINT64_MAX;
    bittern_last_error_offset(&offset);
    return offset;
}

/* One expectation: "ok", "ok:W" (W warnings) or "err:OFFSET". */
static void check_decode(const char *name, const unsigned char *data, size_t len, bool strict,
                         const char *expected)
{
    const char *mode = strict ? "strict" : "tolerant";
    unsigned long long number = 0;
    int is_err = strncmp(expected, "err:", 4) == 0;
    if (strchr(expected, ':') != NULL) {
        number = strtoull(strchr(expected, ':') + 1, NULL, 10);
    }

    bittern_result checked = bittern_bencode_check(data, len, strict);
    bittern_bencode *doc = NULL;
    bittern_result decoded = bittern_bencode_decode(data, len, strict, &doc);
    if (is_err) {
        CHECKF(checked == BITTERN_RESULT_BENCODE, "%s (%s): check gave %s", name, mode,
               bittern_result_name(checked));
        CHECKF(decoded == BITTERN_RESULT_BENCODE, "%s (%s): decode gave %s", name, mode,
               bittern_result_name(decoded));
        CHECKF(doc == NULL, "%s (%s): doc_out written on failure", name, mode);
        uint64_t offset = last_offset();
        CHECKF(offset == number, "%s (%s): error offset %" PRIu64 ", expected %llu", name, mode,
               offset, number);
    } else {
        CHECKF(checked == BITTERN_RESULT_OK, "%s (%s): check gave %s", name, mode,
               bittern_result_name(checked));
        CHECKF(decoded == BITTERN_RESULT_OK && doc != NULL, "%s (%s): decode gave %s", name,
               mode, bittern_result_name(decoded));
        size_t warnings = bittern_bencode_warning_count(doc);
        CHECKF(warnings == number, "%s (%s): %zu warnings, expected %llu", name, mode, warnings,
               number);
        CHECKF(bittern_bencode_node_count(doc) >= 1, "%s (%s): no nodes", name, mode);
    }
    bittern_bencode_free(doc);
}

/* Calls `each` with the space-separated fields of every line of DIR/FILE that is not blank or a
 * comment; returns how many lines it passed on. */
static int read_vectors(const char *dir, const char *file,
                        void (*each)(const char *dir, char **fields, int n))
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "r");
    CHECKF(f != NULL, "cannot open %s", path);
    if (f == NULL) {
        return 0;
    }
    char *line = NULL;
    size_t cap = 0;
    int cases = 0;
    while (getline(&line, &cap, f) > 0) {
        if (line[0] == '#' || line[0] == '\n') {
            continue;
        }
        char *fields[10] = {0};
        int n = 0;
        for (char *field = strtok(line, " \n"); field != NULL && n < 10;
             field = strtok(NULL, " \n")) {
            fields[n++] = field;
        }
        each(dir, fields, n);
        cases++;
    }
    free(line);
    fclose(f);
    return cases;
}

static void bencode_vector(const char *dir, char **fields, int n)
{
    (void)dir;
    unsigned char *data = NULL;
    long len = n == 4 ? from_hex(fields[1], &data) : -1;
    CHECKF(len >= 0, "bad vector line for %s", fields[0] ? fields[0] : "?");
    if (len < 0) {
        return;
    }
    check_decode(fields[0], data, (size_t)len, true, fields[2]);
    check_decode(fields[0], data, (size_t)len, false, fields[3]);
    free(data);
}

static void hex_of(const uint8_t *bytes, size_t len, char *out)
{
    for (size_t i = 0; i < len; i++) {
        snprintf(out + 2 * i, 3, "%02x", bytes[i]);
    }
    out[2 * len] = '\0';
}

static void torrent_ok(const char *file, const char *path, char **fields)
{
    bittern_torrent *t = NULL;
    bittern_result r = bittern_torrent_load(path, &t);
    CHECKF(r == BITTERN_RESULT_OK && t != NULL, "%s: load gave %s", file, bittern_result_name(r));
    if (t == NULL) {
        return;
    }
    char hex[41];
    CHECK_OK(bittern_torrent_info_hash_hex(t, hex));
    CHECKF(strcmp(hex, fields[0]) == 0, "%s: info-hash %s, expected %s", file, hex, fields[0]);
    uint8_t raw[20];
    char raw_hex[41];
    CHECK_OK(bittern_torrent_info_hash(t, raw));
    hex_of(raw, 20, raw_hex);
    CHECKF(strcmp(raw_hex, fields[0]) == 0, "%s: raw info-hash %s", file, raw_hex);

    CHECKF(bittern_torrent_piece_length(t) == strtoull(fields[1], NULL, 10),
           "%s: piece length %" PRIu64, file, bittern_torrent_piece_length(t));
    CHECKF(bittern_torrent_piece_count(t) == strtoull(fields[2], NULL, 10), "%s: piece count %zu",
           file, bittern_torrent_piece_count(t));
    CHECKF(bittern_torrent_total_length(t) == strtoull(fields[3], NULL, 10),
           "%s: total length %" PRIu64, file, bittern_torrent_total_length(t));
    CHECKF(bittern_torrent_file_count(t) == strtoull(fields[4], NULL, 10), "%s: file count %zu",
           file, bittern_torrent_file_count(t));
    CHECKF(bittern_torrent_is_private(t) == (strcmp(fields[5], "1") == 0), "%s: private", file);
    CHECKF(bittern_torrent_warning_count(t) == strtoull(fields[6], NULL, 10), "%s: %zu warnings",
           file, bittern_torrent_warning_count(t));

    const uint8_t *name = NULL;
    size_t name_len = 0;
    CHECK_OK(bittern_torrent_name_bytes(t, &name, &name_len));
    char name_hex[512] = "";
    if (name_len < 200) {
        hex_of(name, name_len, name_hex);
    }
    CHECKF(strcmp(name_hex, fields[7]) == 0, "%s: name bytes %s, expected %s", file, name_hex,
           fields[7]);
    CHECKF(bittern_torrent_name(t) != NULL, "%s: no name", file);

    /* Every piece hash and file is reachable, and the files tile the data. */
    uint8_t piece[20];
    size_t pieces = bittern_torrent_piece_count(t);
    CHECK_OK(bittern_torrent_piece_hash(t, pieces - 1, piece));
    CHECK_RESULT(bittern_torrent_piece_hash(t, pieces, piece), BITTERN_RESULT_INVALID_ARGUMENT);
    uint64_t next = 0;
    int tiled = 1;
    for (size_t i = 0; i < bittern_torrent_file_count(t); i++) {
        const char *file_path = NULL;
        uint64_t length = 0, offset = 0;
        tiled &= bittern_torrent_file_get(t, i, &file_path, &length, &offset) == BITTERN_RESULT_OK;
        tiled &= offset == next && file_path != NULL && file_path[0] != '\0';
        next = offset + length;
    }
    CHECKF(tiled && next == bittern_torrent_total_length(t), "%s: files do not tile", file);
    for (size_t i = 0; i < bittern_torrent_warning_count(t); i++) {
        bool has_offset = false;
        uint64_t offset = 0;
        const char *message = NULL;
        CHECK_OK(bittern_torrent_warning_get(t, i, &has_offset, &offset, &message));
        CHECKF(message != NULL && message[0] != '\0', "%s: warning %zu has no message", file, i);
    }

    /* An unedited torrent serialises back to the file, byte for byte. */
    size_t file_len = 0;
    unsigned char *file_bytes = read_file(path, &file_len);
    uint8_t *bytes = NULL;
    size_t len = 0;
    CHECK_OK(bittern_torrent_to_bytes(t, &bytes, &len));
    CHECKF(file_bytes != NULL && len == file_len && memcmp(bytes, file_bytes, len) == 0,
           "%s: to_bytes differs from the file", file);

    /* Loading from the bytes gives the same torrent. */
    bittern_torrent *again = NULL;
    CHECK_OK(bittern_torrent_from_bytes(file_bytes, file_len, &again));
    char again_hex[41] = "";
    bittern_torrent_info_hash_hex(again, again_hex);
    CHECKF(strcmp(again_hex, fields[0]) == 0, "%s: from_bytes info-hash %s", file, again_hex);
    bittern_torrent_free(again);
    bittern_bytes_free(bytes, len);
    free(file_bytes);
    bittern_torrent_free(t);
}

static void torrent_err(const char *file, const char *path, const char *kind)
{
    bittern_result want =
        strcmp(kind, "bencode") == 0 ? BITTERN_RESULT_BENCODE : BITTERN_RESULT_METAINFO;
    bittern_torrent *t = NULL;
    bittern_result r = bittern_torrent_load(path, &t);
    CHECKF(r == want, "%s: load gave %s, expected %s", file, bittern_result_name(r),
           bittern_result_name(want));
    CHECKF(t == NULL, "%s: torrent_out written on failure", file);
    CHECKF(bittern_last_error_message(NULL, 0) > 0, "%s: no last error message", file);
    uint64_t offset;
    bittern_result has_offset = bittern_last_error_offset(&offset);
    CHECKF(has_offset == (want == BITTERN_RESULT_BENCODE ? BITTERN_RESULT_OK
                                                          : BITTERN_RESULT_NOT_FOUND),
           "%s: last error offset gave %s", file, bittern_result_name(has_offset));

    size_t len = 0;
    unsigned char *bytes = read_file(path, &len);
    r = bittern_torrent_from_bytes(bytes, len, &t);
    CHECKF(r == want, "%s: from_bytes gave %s", file, bittern_result_name(r));
    free(bytes);
}

static void torrent_vector(const char *dir, char **fields, int n)
{
    char torrent[4096];
    snprintf(torrent, sizeof torrent, "%s/torrents/%s", dir, fields[0]);
    if (n == 10 && strcmp(fields[1], "ok") == 0) {
        torrent_ok(fields[0], torrent, fields + 2);
    } else if (n == 3 && strcmp(fields[1], "err") == 0) {
        torrent_err(fields[0], torrent, fields[2]);
    } else {
        CHECKF(0, "bad torrent vector line for %s", fields[0] ? fields[0] : "?");
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s VECTORS_DIR\n", argv[0]);
        return 2;
    }
    int cases = read_vectors(argv[1], "bencode.txt", bencode_vector);
    CHECKF(cases >= 40, "only %d bencode vectors read", cases);
    cases = read_vectors(argv[1], "torrents.txt", torrent_vector);
    CHECKF(cases >= 40, "only %d torrent vectors read", cases);
    return finish("vectors");
}
