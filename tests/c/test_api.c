/* The C interface of libbittern: version, result codes, NULL and invalid arguments, the last
 * error, bencode navigation, torrent getters and setters, magnet links, threads.
 *
 * Usage: test_api VECTORS_DIR TEMP_DIR */
#define _POSIX_C_SOURCE 200809L

#include "check.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <unistd.h>

static const char *vectors;
static const char *temp;

static bittern_torrent *load_vector(const char *file)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/torrents/%s", vectors, file);
    bittern_torrent *t = NULL;
    CHECK_OK(bittern_torrent_load(path, &t));
    return t;
}

static int bytes_are(const uint8_t *data, size_t len, const char *text)
{
    return data != NULL && len == strlen(text) && memcmp(data, text, len) == 0;
}

static int str_is(const char *got, const char *want)
{
    return got != NULL && strcmp(got, want) == 0;
}

static void test_version(void)
{
    char expected[64];
    snprintf(expected, sizeof expected, "%d.%d.%d", BITTERN_VERSION_MAJOR, BITTERN_VERSION_MINOR,
             BITTERN_VERSION_PATCH);
    CHECKF(str_is(bittern_version(), expected), "bittern_version() is %s, macros say %s",
           bittern_version(), expected);
}

static void test_result_codes(void)
{
    /* The numbers are ABI: they must never change. */
    CHECK(BITTERN_RESULT_OK == 0);
    CHECK(BITTERN_RESULT_BENCODE == 1);
    CHECK(BITTERN_RESULT_METAINFO == 2);
    CHECK(BITTERN_RESULT_TRACKER == 3);
    CHECK(BITTERN_RESULT_NETWORK == 4);
    CHECK(BITTERN_RESULT_IO == 5);
    CHECK(BITTERN_RESULT_INVALID_ARGUMENT == 6);
    CHECK(BITTERN_RESULT_NULL_PARAMETER == 7);
    CHECK(BITTERN_RESULT_CANCELLED == 8);
    CHECK(BITTERN_RESULT_TIMEOUT == 9);
    CHECK(BITTERN_RESULT_NOT_FOUND == 10);
    CHECK(BITTERN_RESULT_PANIC == 11);
    CHECK(str_is(bittern_result_name(BITTERN_RESULT_OK), "BITTERN_RESULT_OK"));
    CHECK(str_is(bittern_result_name(BITTERN_RESULT_NULL_PARAMETER),
                 "BITTERN_RESULT_NULL_PARAMETER"));
    CHECK(str_is(bittern_result_name(BITTERN_RESULT_PANIC), "BITTERN_RESULT_PANIC"));
}

static void test_free_null(void)
{
    bittern_torrent_free(NULL);
    bittern_bencode_free(NULL);
    bittern_create_options_free(NULL);
    bittern_bytes_free(NULL, 0);
    CHECK(1); /* reaching here is the test */
}

static void test_null_arguments(void)
{
    bittern_torrent *t = load_vector("single.torrent");
    bittern_torrent *sentinel = (bittern_torrent *)&t; /* outputs must stay as they were */
    bittern_torrent *out = sentinel;
    uint8_t hash[20];
    char hex[41];
    const char *s = NULL;
    const uint8_t *data = NULL;
    size_t len = 0, n = 0;
    uint64_t u = 0;

    CHECK_RESULT(bittern_torrent_load(NULL, &out), BITTERN_RESULT_NULL_PARAMETER);
    CHECK(out == sentinel);
    CHECK_RESULT(bittern_torrent_load("x.torrent", NULL), BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_torrent_from_bytes(NULL, 10, &out), BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_torrent_from_bytes(NULL, 0, &out), BITTERN_RESULT_BENCODE);
    CHECK(out == sentinel);
    CHECK_RESULT(bittern_torrent_info_hash(NULL, hash), BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_torrent_info_hash(t, NULL), BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_torrent_info_hash_hex(t, NULL), BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_torrent_info_hash_hex(NULL, hex), BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_torrent_name_bytes(t, &data, NULL), BITTERN_RESULT_NULL_PARAMETER);
    CHECK(data == NULL);
    CHECK_RESULT(bittern_torrent_file_get(t, 0, &s, NULL, &u), BITTERN_RESULT_NULL_PARAMETER);
    CHECK(s == NULL);
    CHECK_RESULT(bittern_torrent_to_bytes(NULL, NULL, &len), BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_torrent_save(t, NULL), BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_torrent_set_comment(NULL, "x"), BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_torrent_url_list_add(t, NULL), BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_torrent_announce_list_add(t, NULL, 0), BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_torrent_creation_date(t, NULL), BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_bencode_decode((const uint8_t *)"i1e", 3, true, NULL),
                 BITTERN_RESULT_NULL_PARAMETER);
    bittern_bencode *doc = NULL;
    CHECK_RESULT(bittern_bencode_decode(NULL, 3, true, &doc), BITTERN_RESULT_NULL_PARAMETER);
    CHECK(doc == NULL);
    CHECK_RESULT(bittern_bencode_check(NULL, 1, true), BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_bencode_node_len(NULL, 0, &n), BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_bencode_dict_get(NULL, 0, NULL, 0, &n), BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_create_options_new(NULL), BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_create_options_set_private(NULL, true), BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_torrent_create(NULL, NULL, NULL, NULL, &out),
                 BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_last_error_offset(NULL), BITTERN_RESULT_NULL_PARAMETER);
    CHECK(out == sentinel);

    /* Value getters give NULL, 0 or false for a NULL handle. */
    CHECK(bittern_torrent_name(NULL) == NULL);
    CHECK(bittern_torrent_announce(NULL) == NULL);
    CHECK(bittern_torrent_comment(NULL) == NULL);
    CHECK(bittern_torrent_piece_length(NULL) == 0);
    CHECK(bittern_torrent_piece_count(NULL) == 0);
    CHECK(bittern_torrent_total_length(NULL) == 0);
    CHECK(bittern_torrent_file_count(NULL) == 0);
    CHECK(bittern_torrent_is_private(NULL) == false);
    CHECK(bittern_torrent_is_multi_file(NULL) == false);
    CHECK(bittern_torrent_warning_count(NULL) == 0);
    CHECK(bittern_bencode_node_count(NULL) == 0);
    CHECK(bittern_bencode_warning_count(NULL) == 0);
    char message[128];
    bittern_last_error_message(message, sizeof message);
    CHECKF(strstr(message, "NULL") != NULL, "last error after a NULL handle: %s", message);
    bittern_torrent_free(t);
}

static void test_invalid_utf8(void)
{
    bittern_torrent *t = load_vector("single.torrent");
    bittern_torrent *out = NULL;
    const char *bad = "\xc3\x28 not UTF-8";
    CHECK_RESULT(bittern_torrent_set_comment(t, bad), BITTERN_RESULT_INVALID_ARGUMENT);
    char message[256];
    bittern_last_error_message(message, sizeof message);
    CHECKF(strstr(message, "UTF-8") != NULL, "last error: %s", message);
    CHECK_RESULT(bittern_torrent_set_announce(t, bad), BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(bittern_torrent_announce_list_add(t, bad, 0), BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK(str_is(bittern_torrent_announce(t), "http://tracker.example/announce"));
    CHECK(bittern_torrent_comment(t) == NULL);

    bittern_create_options *opts = NULL;
    CHECK_OK(bittern_create_options_new(&opts));
    CHECK_RESULT(bittern_create_options_set_name(opts, bad), BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(bittern_create_options_add_tracker(opts, bad, 0),
                 BITTERN_RESULT_INVALID_ARGUMENT);

    /* Paths are bytes, as Linux takes them: a file name that is not UTF-8 works. */
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", temp, bad);
    CHECK_RESULT(bittern_torrent_load(path, &out), BITTERN_RESULT_IO);
    CHECK(out == NULL);
    /* The error keeps its context: the OS's errno and the file, byte for byte. */
    int os_error = 0;
    CHECK_OK(bittern_last_error_os_error(&os_error));
    CHECKF(os_error == ENOENT, "errno %d", os_error);
    /* One style of message in every face: the number is the errno, not a suffix of the text. */
    char text[512];
    bittern_last_error_message(text, sizeof text);
    CHECKF(strstr(text, "os error") == NULL && strstr(text, "No such file") != NULL, "%s", text);
    char named[4096];
    CHECK(bittern_last_error_path(named, sizeof named) == strlen(path));
    CHECK(strcmp(named, path) == 0);
    CHECK(bittern_last_error_path(named, 4) == strlen(path) && strlen(named) == 3);
    CHECK_OK(bittern_torrent_save(t, path));
    CHECK_OK(bittern_torrent_load(path, &out));
    CHECK(out != NULL && bittern_torrent_total_length(out) == bittern_torrent_total_length(t));
    bittern_torrent_free(out);
    out = NULL;
    CHECK_OK(bittern_torrent_create(path, opts, NULL, NULL, &out));
    CHECK(out != NULL && str_is(bittern_torrent_name(out), "\xef\xbf\xbd( not UTF-8"));
    bittern_torrent_free(out);
    CHECK(unlink(path) == 0);
    bittern_create_options_free(opts);
    bittern_torrent_free(t);
}

static void test_last_error(void)
{
    CHECK_RESULT(bittern_bencode_check((const uint8_t *)"i42", 3, true), BITTERN_RESULT_BENCODE);
    uint64_t offset = 0;
    CHECK_OK(bittern_last_error_offset(&offset));
    CHECK(offset == 3);

    size_t full = bittern_last_error_message(NULL, 0);
    char big[256];
    CHECK(bittern_last_error_message(big, sizeof big) == full);
    CHECKF(strlen(big) == full && strstr(big, "byte 3") != NULL, "message: %s", big);

    char small[8];
    memset(small, 'x', sizeof small);
    CHECK(bittern_last_error_message(small, sizeof small) == full);
    CHECK(strlen(small) == 7 && memcmp(small, big, 7) == 0);
    char one[1] = {'x'};
    CHECK(bittern_last_error_message(one, 1) == full && one[0] == '\0');

    /* A success leaves the last error; asking for the offset does not change it. */
    CHECK_OK(bittern_bencode_check((const uint8_t *)"i42e", 4, true));
    CHECK(bittern_last_error_message(NULL, 0) == full);

    /* A failure without an offset. */
    bittern_torrent *t = NULL;
    char path[4096];
    snprintf(path, sizeof path, "%s/does-not-exist.torrent", temp);
    CHECK_RESULT(bittern_torrent_load(path, &t), BITTERN_RESULT_IO);
    CHECK_RESULT(bittern_last_error_offset(&offset), BITTERN_RESULT_NOT_FOUND);
    bittern_last_error_message(big, sizeof big);
    CHECKF(strstr(big, "does-not-exist.torrent") != NULL, "message: %s", big);
    CHECK(bittern_last_error_message(NULL, 0) == strlen(big)); /* NOT_FOUND above kept it */
}

static void test_bencode_nodes(void)
{
    const char *input = "d3:bar4:spam3:fooli1ei-2e0:ee";
    bittern_bencode *doc = NULL;
    CHECK_OK(bittern_bencode_decode((const uint8_t *)input, strlen(input), true, &doc));
    if (doc == NULL) {
        return;
    }
    /* Nodes: 0 dict, 1 "bar", 2 "spam", 3 "foo", 4 list, 5 i1e, 6 i-2e, 7 "". */
    CHECK(bittern_bencode_node_count(doc) == 8);
    bittern_bencode_type type = BITTERN_BENCODE_TYPE_INT;
    CHECK_OK(bittern_bencode_node_type(doc, 0, &type));
    CHECK(type == BITTERN_BENCODE_TYPE_DICT);
    size_t len = 0, start = 0, end = 0;
    CHECK_OK(bittern_bencode_node_len(doc, 0, &len));
    CHECK(len == 2);
    CHECK_OK(bittern_bencode_node_span(doc, 0, &start, &end));
    CHECK(start == 0 && end == strlen(input));

    size_t key = 0, value = 0;
    const uint8_t *bytes = NULL;
    size_t bytes_len = 0;
    CHECK_OK(bittern_bencode_dict_entry(doc, 0, 0, &key, &value));
    CHECK_OK(bittern_bencode_node_bytes(doc, key, &bytes, &bytes_len));
    CHECK(bytes_are(bytes, bytes_len, "bar"));
    CHECK_OK(bittern_bencode_node_bytes(doc, value, &bytes, &bytes_len));
    CHECK(bytes_are(bytes, bytes_len, "spam"));
    CHECK_RESULT(bittern_bencode_dict_entry(doc, 0, 2, &key, &value),
                 BITTERN_RESULT_INVALID_ARGUMENT);

    size_t list = 0;
    CHECK_OK(bittern_bencode_dict_get(doc, 0, (const uint8_t *)"foo", 3, &list));
    CHECK_OK(bittern_bencode_node_type(doc, list, &type));
    CHECK(type == BITTERN_BENCODE_TYPE_LIST);
    CHECK_OK(bittern_bencode_node_len(doc, list, &len));
    CHECK(len == 3);
    CHECK_OK(bittern_bencode_node_span(doc, list, &start, &end));
    CHECK(start == 17 && end == 28 && memcmp(input + start, "li1ei-2e0:e", end - start) == 0);
    size_t item = 0;
    int64_t number = 0;
    CHECK_OK(bittern_bencode_list_get(doc, list, 1, &item));
    CHECK_OK(bittern_bencode_node_int(doc, item, &number));
    CHECK(number == -2);
    CHECK_OK(bittern_bencode_list_get(doc, list, 2, &item));
    CHECK_OK(bittern_bencode_node_bytes(doc, item, &bytes, &bytes_len));
    CHECK(bytes != NULL && bytes_len == 0);
    CHECK_RESULT(bittern_bencode_list_get(doc, list, 3, &item), BITTERN_RESULT_INVALID_ARGUMENT);

    size_t sentinel = 12345;
    value = sentinel;
    CHECK_RESULT(bittern_bencode_dict_get(doc, 0, (const uint8_t *)"nope", 4, &value),
                 BITTERN_RESULT_NOT_FOUND);
    CHECK(value == sentinel);
    CHECK_RESULT(bittern_bencode_dict_get(doc, list, (const uint8_t *)"foo", 3, &value),
                 BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(bittern_bencode_node_int(doc, 1, &number), BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(bittern_bencode_node_bytes(doc, 0, &bytes, &bytes_len),
                 BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(bittern_bencode_node_len(doc, 1, &len), BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(bittern_bencode_list_get(doc, 0, 0, &item), BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(bittern_bencode_node_type(doc, 8, &type), BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(bittern_bencode_node_span(doc, (size_t)-1, &start, &end),
                 BITTERN_RESULT_INVALID_ARGUMENT);
    bittern_bencode_free(doc);

    /* Tolerant decoding: the document owns its input, and warnings have offsets. */
    char *copy = strdup("d3:fooi1e3:bari2ee");
    CHECK_OK(bittern_bencode_decode((const uint8_t *)copy, strlen(copy), false, &doc));
    free(copy);
    CHECK(bittern_bencode_warning_count(doc) == 1);
    size_t offset = 0;
    const char *message = NULL;
    CHECK_OK(bittern_bencode_warning_get(doc, 0, &offset, &message));
    CHECKF(offset == 9 && message != NULL && strstr(message, "order") != NULL,
           "warning at %zu: %s", offset, message ? message : "(null)");
    CHECK_RESULT(bittern_bencode_warning_get(doc, 1, &offset, &message),
                 BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK_OK(bittern_bencode_dict_get(doc, 0, (const uint8_t *)"bar", 3, &value));
    CHECK_OK(bittern_bencode_node_int(doc, value, &number));
    CHECK(number == 2);
    bittern_bencode_free(doc);
}

static void test_getters(void)
{
    bittern_torrent *t = load_vector("multi.torrent");
    if (t == NULL) {
        return;
    }
    CHECK(str_is(bittern_torrent_name(t), "folder"));
    CHECK(bittern_torrent_is_multi_file(t));
    CHECK(bittern_torrent_file_count(t) == 3);
    const char *path = NULL;
    uint64_t length = 0, offset = 0;
    CHECK_OK(bittern_torrent_file_get(t, 1, &path, &length, &offset));
    CHECKF(str_is(path, "folder/sub/b.bin") && length == 40000 && offset == 10,
           "file 1: %s %" PRIu64 " %" PRIu64, path ? path : "(null)", length, offset);
    CHECK_RESULT(bittern_torrent_file_get(t, 3, &path, &length, &offset),
                 BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK(str_is(bittern_torrent_announce(t), "http://tracker.example/announce"));
    CHECK(bittern_torrent_announce_list_tier_count(t) == 0);
    CHECK(bittern_torrent_url_list_count(t) == 0);
    CHECK(bittern_torrent_comment(t) == NULL);
    int64_t date = 0;
    CHECK_RESULT(bittern_torrent_creation_date(t, &date), BITTERN_RESULT_NOT_FOUND);
    CHECK(date == 0);
    size_t size = 0;
    CHECK_RESULT(bittern_torrent_announce_list_tier_size(t, 0, &size),
                 BITTERN_RESULT_INVALID_ARGUMENT);

    /* The info bytes are the exact span of `info` in the file. */
    char file[4096];
    snprintf(file, sizeof file, "%s/torrents/multi.torrent", vectors);
    size_t file_len = 0;
    unsigned char *file_bytes = read_file(file, &file_len);
    bittern_bencode *doc = NULL;
    CHECK_OK(bittern_bencode_decode(file_bytes, file_len, false, &doc));
    size_t info = 0, start = 0, end = 0;
    CHECK_OK(bittern_bencode_dict_get(doc, 0, (const uint8_t *)"info", 4, &info));
    CHECK_OK(bittern_bencode_node_span(doc, info, &start, &end));
    const uint8_t *info_bytes = NULL;
    size_t info_len = 0;
    CHECK_OK(bittern_torrent_info_bytes(t, &info_bytes, &info_len));
    CHECK(info_len == end - start && memcmp(info_bytes, file_bytes + start, info_len) == 0);
    bittern_bencode_free(doc);
    free(file_bytes);

    /* The same string is handed out each time (it is cached by the torrent). */
    CHECK(bittern_torrent_name(t) == bittern_torrent_name(t));
    bittern_torrent_free(t);

    /* announce-list [["http://a/ann", "http://b/ann"], ["udp://c:80"]], and the outer fields. */
    t = load_vector("announce-list.torrent");
    CHECK(bittern_torrent_announce_list_tier_count(t) == 2);
    CHECK_OK(bittern_torrent_announce_list_tier_size(t, 0, &size));
    CHECK(size == 2);
    CHECK_OK(bittern_torrent_announce_list_tier_size(t, 1, &size));
    CHECK(size == 1);
    const char *url = NULL;
    CHECK_OK(bittern_torrent_announce_list_get(t, 0, 1, &url));
    CHECK(str_is(url, "http://b/ann"));
    CHECK_OK(bittern_torrent_announce_list_get(t, 1, 0, &url));
    CHECK(str_is(url, "udp://c:80"));
    CHECK_RESULT(bittern_torrent_announce_list_get(t, 1, 1, &url),
                 BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(bittern_torrent_announce_list_get(t, 2, 0, &url),
                 BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK(str_is(bittern_torrent_announce(t), "http://a/ann"));
    CHECK(str_is(bittern_torrent_comment(t), "hello"));
    CHECK(str_is(bittern_torrent_created_by(t), "vectors"));
    CHECK_OK(bittern_torrent_creation_date(t, &date));
    CHECK(date == 1700000000);
    bittern_torrent_free(t);

    /* Invalid UTF-8 in a name becomes U+FFFD; the raw bytes stay available. */
    t = load_vector("latin1-name.torrent");
    CHECKF(str_is(bittern_torrent_name(t), "caf\xef\xbf\xbd.txt"), "name: %s",
           bittern_torrent_name(t));
    const uint8_t *name = NULL;
    size_t name_len = 0;
    CHECK_OK(bittern_torrent_name_bytes(t, &name, &name_len));
    CHECK(bytes_are(name, name_len, "caf\xe9.txt"));
    bittern_torrent_free(t);

    t = load_vector("unsorted.torrent");
    CHECK(bittern_torrent_warning_count(t) == 2);
    bool has_offset = false;
    const char *message = NULL;
    CHECK_OK(bittern_torrent_warning_get(t, 0, &has_offset, &offset, &message));
    CHECK(has_offset && message != NULL);
    CHECK_RESULT(bittern_torrent_warning_get(t, 2, &has_offset, &offset, &message),
                 BITTERN_RESULT_INVALID_ARGUMENT);
    bittern_torrent_free(t);
}

static void test_nul_in_a_string(void)
{
    /* A torrent whose comment holds a NUL byte: the C string shows it as U+FFFD. */
    static const char torrent[] = "d7:comment3:a\0b4:infod6:lengthi1e4:name1:x12:piece "
                                  "lengthi16384e6:pieces20:01234567890123456789ee";
    bittern_torrent *t = NULL;
    CHECK_OK(bittern_torrent_from_bytes((const uint8_t *)torrent, sizeof torrent - 1, &t));
    CHECKF(str_is(bittern_torrent_comment(t), "a\xef\xbf\xbd" "b"), "comment: %s",
           bittern_torrent_comment(t) ? bittern_torrent_comment(t) : "(null)");
    bittern_torrent_free(t);
}

static void test_setters(void)
{
    bittern_torrent *t = load_vector("single.torrent");
    if (t == NULL) {
        return;
    }
    char before[41], after[41];
    CHECK_OK(bittern_torrent_info_hash_hex(t, before));

    CHECK_OK(bittern_torrent_set_announce(t, "http://a.example/announce"));
    CHECK_OK(bittern_torrent_set_comment(t, "a comment"));
    CHECK_OK(bittern_torrent_set_created_by(t, "test_api"));
    CHECK_OK(bittern_torrent_set_creation_date(t, 1700000000));
    CHECK_OK(bittern_torrent_announce_list_add(t, "http://t1.example/announce", 0));
    CHECK_OK(bittern_torrent_announce_list_add(t, "http://t2.example/announce", 0));
    CHECK_OK(bittern_torrent_announce_list_add(t, "udp://t3.example:6969", 1));
    CHECK_RESULT(bittern_torrent_announce_list_add(t, "http://t4.example/", 3),
                 BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK_OK(bittern_torrent_url_list_add(t, "http://seed1.example/"));
    CHECK_OK(bittern_torrent_url_list_add(t, "http://seed2.example/"));

    CHECK_OK(bittern_torrent_info_hash_hex(t, after));
    CHECK(strcmp(before, after) == 0);
    CHECK(str_is(bittern_torrent_announce(t), "http://a.example/announce"));
    CHECK(str_is(bittern_torrent_comment(t), "a comment"));
    CHECK(str_is(bittern_torrent_created_by(t), "test_api"));
    int64_t date = 0;
    CHECK_OK(bittern_torrent_creation_date(t, &date));
    CHECK(date == 1700000000);
    CHECK(bittern_torrent_announce_list_tier_count(t) == 2);
    size_t size = 0;
    CHECK_OK(bittern_torrent_announce_list_tier_size(t, 0, &size));
    CHECK(size == 2);
    const char *url = NULL;
    CHECK_OK(bittern_torrent_announce_list_get(t, 1, 0, &url));
    CHECK(str_is(url, "udp://t3.example:6969"));
    CHECK(bittern_torrent_url_list_count(t) == 2);
    CHECK_OK(bittern_torrent_url_list_get(t, 1, &url));
    CHECK(str_is(url, "http://seed2.example/"));
    CHECK_RESULT(bittern_torrent_url_list_get(t, 2, &url), BITTERN_RESULT_INVALID_ARGUMENT);

    /* The edits survive serialising and saving; the info-hash does too. */
    uint8_t *bytes = NULL;
    size_t len = 0;
    CHECK_OK(bittern_torrent_to_bytes(t, &bytes, &len));
    bittern_torrent *again = NULL;
    CHECK_OK(bittern_torrent_from_bytes(bytes, len, &again));
    bittern_bytes_free(bytes, len);
    CHECK_OK(bittern_torrent_info_hash_hex(again, after));
    CHECK(strcmp(before, after) == 0);
    CHECK(str_is(bittern_torrent_comment(again), "a comment"));
    CHECK(bittern_torrent_announce_list_tier_count(again) == 2);
    CHECK(bittern_torrent_url_list_count(again) == 2);
    bittern_torrent_free(again);

    char path[4096];
    snprintf(path, sizeof path, "%s/edited.torrent", temp);
    CHECK_OK(bittern_torrent_save(t, path));
    CHECK_OK(bittern_torrent_load(path, &again));
    CHECK_OK(bittern_torrent_info_hash_hex(again, after));
    CHECK(strcmp(before, after) == 0);
    CHECK(str_is(bittern_torrent_created_by(again), "test_api"));
    bittern_torrent_free(again);
    snprintf(path, sizeof path, "%s/no-such-dir/x.torrent", temp);
    CHECK_RESULT(bittern_torrent_save(t, path), BITTERN_RESULT_IO);

    /* Removing each field. */
    CHECK_OK(bittern_torrent_set_announce(t, NULL));
    CHECK_OK(bittern_torrent_set_comment(t, NULL));
    CHECK_OK(bittern_torrent_set_created_by(t, NULL));
    CHECK_OK(bittern_torrent_clear_creation_date(t));
    CHECK_OK(bittern_torrent_announce_list_clear(t));
    CHECK_OK(bittern_torrent_url_list_clear(t));
    CHECK(bittern_torrent_announce(t) == NULL);
    CHECK(bittern_torrent_comment(t) == NULL);
    CHECK(bittern_torrent_created_by(t) == NULL);
    CHECK_RESULT(bittern_torrent_creation_date(t, &date), BITTERN_RESULT_NOT_FOUND);
    CHECK(bittern_torrent_announce_list_tier_count(t) == 0);
    CHECK(bittern_torrent_url_list_count(t) == 0);
    CHECK_OK(bittern_torrent_info_hash_hex(t, after));
    CHECK(strcmp(before, after) == 0);
    bittern_torrent_free(t);
}

/* Several threads read one torrent at once; each thread has its own last error. */
struct reader {
    const bittern_torrent *torrent;
    const char *name;
    int ok;
};

static void *read_torrent(void *arg)
{
    struct reader *r = arg;
    r->ok = 1;
    for (int i = 0; i < 200; i++) {
        const char *path = NULL;
        uint64_t length, offset;
        r->ok &= bittern_torrent_name(r->torrent) == r->name;
        r->ok &= bittern_torrent_file_get(r->torrent, (size_t)i % 3, &path, &length, &offset) ==
                 BITTERN_RESULT_OK;
        r->ok &= path != NULL && strncmp(path, "folder/", 7) == 0;
    }
    r->ok &= bittern_torrent_file_get(r->torrent, 99, NULL, NULL, NULL) ==
             BITTERN_RESULT_NULL_PARAMETER;
    char message[64];
    bittern_last_error_message(message, sizeof message);
    r->ok &= strstr(message, "NULL") != NULL;
    return NULL;
}

/* Magnet links: parsed (hex and base32 hashes, every field), written back, and made from a
 * torrent; malformed links are errors saying why. */
static void test_magnets(void)
{
    static const char *hex = "c12fe1c06bba254a9dc9f519b335aa7c1367a88a";
    char link[1024];
    snprintf(link, sizeof link,
             "magnet:?xt=urn:btih:%s&dn=Big+Buck%%20Bunny&tr=udp%%3A%%2F%%2Ft.example%%3A80"
             "&tr=http://t2.example/a&ws=http://w.example/f&x.pe=10.0.0.1:6881"
             "&x.pe=[2001:db8::1]:51413&unknown=1",
             hex);
    bittern_magnet *m = NULL;
    CHECK_OK(bittern_magnet_parse(link, &m));
    if (m == NULL) {
        return;
    }
    uint8_t hash[20];
    CHECK_OK(bittern_magnet_info_hash(m, hash));
    CHECK(hash[0] == 0xc1 && hash[19] == 0x8a);
    CHECK(str_is(bittern_magnet_name(m), "Big Buck Bunny"));
    CHECK(bittern_magnet_tracker_count(m) == 2);
    const char *url = NULL;
    CHECK_OK(bittern_magnet_tracker_get(m, 0, &url));
    CHECK(str_is(url, "udp://t.example:80"));
    CHECK_OK(bittern_magnet_tracker_get(m, 1, &url));
    CHECK(str_is(url, "http://t2.example/a"));
    CHECK_RESULT(bittern_magnet_tracker_get(m, 2, &url), BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK(bittern_magnet_web_seed_count(m) == 1);
    CHECK_OK(bittern_magnet_web_seed_get(m, 0, &url));
    CHECK(str_is(url, "http://w.example/f"));
    CHECK(bittern_magnet_peer_count(m) == 2);
    char ip[BITTERN_IP_STRING_SIZE];
    uint16_t port = 0;
    CHECK_OK(bittern_magnet_peer_get(m, 1, ip, &port));
    CHECK(str_is(ip, "2001:db8::1") && port == 51413);
    CHECK_RESULT(bittern_magnet_peer_get(m, 2, ip, &port), BITTERN_RESULT_INVALID_ARGUMENT);

    /* Written back, it parses to the same. */
    size_t n = bittern_magnet_to_string(m, NULL, 0);
    char *again = malloc(n + 1);
    CHECK(bittern_magnet_to_string(m, again, n + 1) == n && strlen(again) == n);
    CHECKF(strncmp(again, "magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a&dn=Big%20Buck", 73) == 0,
           "%s", again);
    bittern_magnet *m2 = NULL;
    CHECK_OK(bittern_magnet_parse(again, &m2));
    CHECK(m2 != NULL && bittern_magnet_tracker_count(m2) == 2 && bittern_magnet_peer_count(m2) == 2);
    bittern_magnet_free(m2);
    free(again);
    bittern_magnet_free(m);

    /* Base32, and the scheme in any case. */
    CHECK_OK(bittern_magnet_parse("MAGNET:?xt=urn:btih:YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKEK", &m));
    uint8_t same[20];
    CHECK_OK(bittern_magnet_info_hash(m, same));
    CHECK(memcmp(hash, same, 20) == 0);
    CHECK(bittern_magnet_name(m) == NULL && bittern_magnet_tracker_count(m) == 0);
    bittern_magnet_free(m);

    /* Malformed: a clear error, nothing made. */
    const char *bad[][2] = {
        {"http://example.com/", "not a magnet link"},
        {"magnet:?dn=x", "names no BitTorrent info-hash"},
        {"magnet:?xt=urn:btih:abc", "neither 40 hex digits nor 32 base32"},
        {"magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a&x.pe=host", "not an address"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        m = NULL;
        CHECK_RESULT(bittern_magnet_parse(bad[i][0], &m), BITTERN_RESULT_INVALID_ARGUMENT);
        CHECK(m == NULL);
        CHECK_LAST_ERROR_HAS(bad[i][1]);
    }

    /* A torrent's own link names its hash, name and tracker. */
    bittern_torrent *t = load_vector("multi.torrent");
    if (t != NULL) {
        char own[2048];
        size_t len = bittern_torrent_magnet(t, own, sizeof own);
        CHECK(len > 0 && len == strlen(own));
        char want[128];
        CHECK_OK(bittern_torrent_info_hash_hex(t, want + 20));
        memcpy(want, "magnet:?xt=urn:btih:", 20);
        CHECKF(strncmp(own, want, 60) == 0, "%s", own);
        CHECKF(strstr(own, "&dn=folder&tr=http://tracker.example/announce") != NULL, "%s", own);
        bittern_torrent_free(t);
    }
}

static void test_threads(void)
{
    bittern_torrent *t = load_vector("multi.torrent");
    CHECK_RESULT(bittern_bencode_check((const uint8_t *)"i42", 3, true), BITTERN_RESULT_BENCODE);
    struct reader readers[4];
    pthread_t threads[4];
    for (int i = 0; i < 4; i++) {
        readers[i] = (struct reader){t, bittern_torrent_name(t), 0};
        CHECK(pthread_create(&threads[i], NULL, read_torrent, &readers[i]) == 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(threads[i], NULL);
        CHECK(readers[i].ok);
    }
    /* This thread's last error is still its own. */
    uint64_t offset = 0;
    CHECK_OK(bittern_last_error_offset(&offset));
    CHECK(offset == 3);
    bittern_torrent_free(t);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s VECTORS_DIR TEMP_DIR\n", argv[0]);
        return 2;
    }
    vectors = argv[1];
    temp = argv[2];
    test_version();
    test_result_codes();
    test_free_null();
    test_null_arguments();
    test_invalid_utf8();
    test_last_error();
    test_bencode_nodes();
    test_getters();
    test_nul_in_a_string();
    test_setters();
    test_magnets();
    test_threads();
    return finish("api");
}
