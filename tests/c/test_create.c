/* Creating torrents through the C interface: options, progress, cancellation, errors.
 *
 * Usage: test_create TEMP_DIR */
#define _POSIX_C_SOURCE 200809L

#include "check.h"

#include <inttypes.h>
#include <sys/stat.h>

static const char *temp;

struct progress {
    int calls;
    uint64_t done;
    uint64_t total;
    int monotonic;
    bool answer;
};

static bool on_progress(uint64_t bytes_done, uint64_t bytes_total, void *user_data)
{
    struct progress *p = user_data;
    p->monotonic &= bytes_done >= p->done && bytes_done <= bytes_total;
    p->calls++;
    p->done = bytes_done;
    p->total = bytes_total;
    return p->answer;
}

static void make_file(const char *path, size_t len)
{
    unsigned char *data = malloc(len);
    for (size_t i = 0; i < len; i++) {
        data[i] = (unsigned char)(i * 31 + i / 1000);
    }
    CHECKF(write_file(path, data, len), "cannot write %s", path);
    free(data);
}

static int str_is(const char *got, const char *want)
{
    return got != NULL && strcmp(got, want) == 0;
}

static void test_file(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/file.bin", temp);
    make_file(path, 100000);

    bittern_create_options *opts = NULL;
    CHECK_OK(bittern_create_options_new(&opts));
    CHECK_OK(bittern_create_options_add_tracker(opts, "http://tracker.example/announce", 0));
    CHECK_OK(bittern_create_options_add_tracker(opts, "http://backup.example/announce", 1));
    CHECK_RESULT(bittern_create_options_add_tracker(opts, "http://x.example/", 3),
                 BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK_OK(bittern_create_options_set_piece_length(opts, 32768));
    CHECK_OK(bittern_create_options_set_comment(opts, "made by test_create"));
    CHECK_OK(bittern_create_options_set_created_by(opts, NULL));
    CHECK_OK(bittern_create_options_clear_creation_date(opts));
    CHECK_OK(bittern_create_options_set_private(opts, true));
    CHECK_OK(bittern_create_options_add_web_seed(opts, "http://seed.example/file.bin"));
    CHECK_OK(bittern_create_options_set_threads(opts, 2));

    struct progress p = {0, 0, 0, 1, true};
    bittern_torrent *t = NULL;
    CHECK_OK(bittern_torrent_create(path, opts, on_progress, &p, &t));
    CHECKF(p.calls >= 1 && p.monotonic, "progress: %d calls", p.calls);
    CHECKF(p.done == p.total && p.total == 100000,
           "last progress %" PRIu64 " of %" PRIu64, p.done, p.total);
    if (t != NULL) {
        CHECK(str_is(bittern_torrent_name(t), "file.bin"));
        CHECK(bittern_torrent_total_length(t) == 100000);
        CHECK(bittern_torrent_piece_length(t) == 32768);
        CHECK(bittern_torrent_piece_count(t) == 4);
        CHECK(bittern_torrent_file_count(t) == 1);
        CHECK(!bittern_torrent_is_multi_file(t));
        CHECK(bittern_torrent_is_private(t));
        CHECK(str_is(bittern_torrent_announce(t), "http://tracker.example/announce"));
        CHECK(bittern_torrent_announce_list_tier_count(t) == 2);
        CHECK(str_is(bittern_torrent_comment(t), "made by test_create"));
        CHECK(bittern_torrent_created_by(t) == NULL);
        int64_t date;
        CHECK_RESULT(bittern_torrent_creation_date(t, &date), BITTERN_RESULT_NOT_FOUND);
        const char *url = NULL;
        CHECK_OK(bittern_torrent_url_list_get(t, 0, &url));
        CHECK(str_is(url, "http://seed.example/file.bin"));
    }

    /* Without a date the output depends only on the files and options. */
    bittern_torrent *again = NULL;
    CHECK_OK(bittern_torrent_create(path, opts, NULL, NULL, &again));
    uint8_t *a = NULL, *b = NULL;
    size_t a_len = 0, b_len = 0;
    CHECK_OK(bittern_torrent_to_bytes(t, &a, &a_len));
    CHECK_OK(bittern_torrent_to_bytes(again, &b, &b_len));
    CHECK(a != NULL && b != NULL && a_len == b_len && memcmp(a, b, a_len) == 0);
    bittern_bytes_free(a, a_len);
    bittern_bytes_free(b, b_len);
    bittern_torrent_free(again);
    bittern_torrent_free(t);

    /* NULL options: the defaults (automatic piece length, a date, created by bittern). */
    CHECK_OK(bittern_torrent_create(path, NULL, NULL, NULL, &t));
    CHECK(bittern_torrent_piece_length(t) == 16384);
    CHECK(bittern_torrent_announce(t) == NULL);
    CHECK(!bittern_torrent_is_private(t));
    int64_t date = 0;
    CHECK_OK(bittern_torrent_creation_date(t, &date));
    CHECK(date > 1600000000);
    const char *created_by = bittern_torrent_created_by(t);
    CHECKF(created_by != NULL && strncmp(created_by, "bittern ", 8) == 0, "created by %s",
           created_by ? created_by : "(null)");
    bittern_torrent_free(t);
    bittern_create_options_free(opts);
}

static void test_folder(void)
{
    char dir[2048], path[4096];
    snprintf(dir, sizeof dir, "%s/folder", temp);
    CHECK(mkdir(dir, 0700) == 0);
    snprintf(path, sizeof path, "%s/sub", dir);
    CHECK(mkdir(path, 0700) == 0);
    snprintf(path, sizeof path, "%s/sub/b.bin", dir);
    make_file(path, 40000);
    snprintf(path, sizeof path, "%s/a.txt", dir);
    CHECK(write_file(path, "hello, world", 12));
    snprintf(path, sizeof path, "%s/.hidden", dir);
    CHECK(write_file(path, "secret", 6));

    struct progress p = {0, 0, 0, 1, true};
    bittern_torrent *t = NULL;
    CHECK_OK(bittern_torrent_create(dir, NULL, on_progress, &p, &t));
    CHECK(p.calls >= 1 && p.done == p.total && p.total == 40012);
    CHECK(bittern_torrent_is_multi_file(t));
    CHECK(str_is(bittern_torrent_name(t), "folder"));
    CHECK(bittern_torrent_file_count(t) == 2);
    CHECK(bittern_torrent_total_length(t) == 40012);
    const char *file = NULL;
    uint64_t length = 0, offset = 0;
    CHECK_OK(bittern_torrent_file_get(t, 0, &file, &length, &offset));
    CHECK(str_is(file, "folder/a.txt") && length == 12 && offset == 0);
    CHECK_OK(bittern_torrent_file_get(t, 1, &file, &length, &offset));
    CHECK(str_is(file, "folder/sub/b.bin") && length == 40000 && offset == 12);
    bittern_torrent_free(t);

    bittern_create_options *opts = NULL;
    CHECK_OK(bittern_create_options_new(&opts));
    CHECK_OK(bittern_create_options_set_include_hidden(opts, true));
    CHECK_OK(bittern_create_options_set_name(opts, "renamed"));
    CHECK_OK(bittern_torrent_create(dir, opts, NULL, NULL, &t));
    CHECK(bittern_torrent_file_count(t) == 3);
    CHECK(str_is(bittern_torrent_name(t), "renamed"));
    CHECK_OK(bittern_torrent_file_get(t, 0, &file, &length, &offset));
    CHECK(str_is(file, "renamed/.hidden"));
    bittern_torrent_free(t);

    CHECK_OK(bittern_create_options_set_name(opts, NULL));
    CHECK_OK(bittern_torrent_create(dir, opts, NULL, NULL, &t));
    CHECK(str_is(bittern_torrent_name(t), "folder"));
    bittern_torrent_free(t);
    bittern_create_options_free(opts);
}

static void test_cancel(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/file.bin", temp);
    struct progress p = {0, 0, 0, 1, false};
    bittern_torrent *t = NULL;
    CHECK_RESULT(bittern_torrent_create(path, NULL, on_progress, &p, &t),
                 BITTERN_RESULT_CANCELLED);
    CHECK(t == NULL);
    CHECK(p.calls == 1);
    char message[64];
    bittern_last_error_message(message, sizeof message);
    CHECKF(strstr(message, "cancel") != NULL, "message: %s", message);
}

static void test_errors(void)
{
    char path[4096];
    bittern_torrent *t = NULL;
    snprintf(path, sizeof path, "%s/does-not-exist", temp);
    CHECK_RESULT(bittern_torrent_create(path, NULL, NULL, NULL, &t), BITTERN_RESULT_IO);

    snprintf(path, sizeof path, "%s/empty-dir", temp);
    CHECK(mkdir(path, 0700) == 0);
    CHECK_RESULT(bittern_torrent_create(path, NULL, NULL, NULL, &t), BITTERN_RESULT_METAINFO);

    snprintf(path, sizeof path, "%s/file.bin", temp);
    bittern_create_options *opts = NULL;
    CHECK_OK(bittern_create_options_new(&opts));
    CHECK_OK(bittern_create_options_set_piece_length(opts, 1000));
    CHECK_RESULT(bittern_torrent_create(path, opts, NULL, NULL, &t), BITTERN_RESULT_METAINFO);
    CHECK_RESULT(bittern_torrent_create(path, opts, NULL, NULL, NULL),
                 BITTERN_RESULT_NULL_PARAMETER);
    CHECK(t == NULL);
    bittern_create_options_free(opts);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s TEMP_DIR\n", argv[0]);
        return 2;
    }
    temp = argv[1];
    test_file();
    test_folder();
    test_cancel();
    test_errors();
    return finish("create");
}
