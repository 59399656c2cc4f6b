/* Misuse of the C interface that a C program can commit by mistake, and what the library
 * guarantees then (the header's conventions):
 *
 * - output buffers too small: the size needed is returned, nothing is written past the
 *   length given (canary bytes after it), the result is always NUL-terminated and cut at a
 *   UTF-8 character boundary; `struct_size` smaller than the struct: nothing past it written;
 * - empty and huge lengths and indexes: an error, never a read out of bounds;
 * - invalid UTF-8 in strings (INVALID_ARGUMENT), non-UTF-8 bytes in paths (taken as the OS
 *   takes them), NUL bytes inside a torrent's strings and a dictionary key;
 * - what may be freed while something made from it lives on.
 *
 * Usage: test_misuse TMPDIR */
#define _DEFAULT_SOURCE /* strnlen, usleep, mkdir */
#include "check.h"

#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#define CANARY 0xA5
#define SLACK 16

static char tmp[1024];

static int canary_intact(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != CANARY) {
            return 0;
        }
    }
    return 1;
}

static void write_data(const char *path, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        printf("cannot write %s\n", path);
        exit(2);
    }
    for (size_t i = 0; i < size; i++) {
        fputc((int)(i * 13 % 256), f);
    }
    fclose(f);
}

static bittern_torrent *make_torrent(const char *name, const char *tracker)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", tmp, name);
    write_data(path, 50000);
    bittern_create_options *options = NULL;
    bittern_torrent *torrent = NULL;
    CHECK_OK(bittern_create_options_new(&options));
    if (tracker != NULL) {
        CHECK_OK(bittern_create_options_add_tracker(options, tracker, 0));
    }
    CHECK_OK(bittern_torrent_create(path, options, NULL, NULL, &torrent));
    bittern_create_options_free(options);
    return torrent;
}

/* Checks a `size_t f(char *buf, size_t len)` copy of `full` (its whole text, `n` bytes) into
 * every length of buffer from 0 to n + 2. */
typedef size_t (*copy_fn)(void *ctx, char *buf, size_t len);

static void check_copies(const char *what, copy_fn f, void *ctx, const char *full, size_t n)
{
    CHECKF(f(ctx, NULL, 0) == n, "%s(NULL, 0) is not the length %zu", what, n);
    CHECKF(f(ctx, NULL, 100) == n, "%s(NULL, 100) is not the length %zu", what, n);
    for (size_t len = 0; len <= n + 2; len++) {
        unsigned char *buf = malloc(len + SLACK);
        memset(buf, CANARY, len + SLACK);
        size_t got = f(ctx, (char *)buf, len);
        CHECKF(got == n, "%s(buf, %zu) gave %zu, not %zu", what, len, got, n);
        if (len == 0) {
            CHECKF(canary_intact(buf, SLACK), "%s(buf, 0) wrote to buf", what);
        } else {
            size_t s = strnlen((char *)buf, len);
            CHECKF(s < len, "%s(buf, %zu) did not NUL-terminate", what, len);
            if (s < len) {
                CHECKF(memcmp(buf, full, s) == 0, "%s(buf, %zu) is not a prefix", what, len);
                /* The whole text when it fits, else cut before a character that does not fit:
                 * never in the middle of one, and never shorter than it had to be. */
                if (len > n) {
                    CHECKF(s == n, "%s(buf, %zu) cut %zu of %zu bytes", what, len, s, n);
                } else {
                    CHECKF(((unsigned char)full[s] & 0xC0) != 0x80,
                           "%s(buf, %zu) cut inside a UTF-8 character", what, len);
                    CHECKF(s + 4 > len - 1, "%s(buf, %zu) cut %zu bytes, too short", what, len,
                           s);
                }
            }
            CHECKF(canary_intact(buf + len, SLACK), "%s(buf, %zu) wrote past the end", what,
                   len);
        }
        free(buf);
    }
}

static size_t copy_message(void *ctx, char *buf, size_t len)
{
    (void)ctx;
    return bittern_last_error_message(buf, len);
}

static size_t copy_path(void *ctx, char *buf, size_t len)
{
    (void)ctx;
    return bittern_last_error_path(buf, len);
}

static size_t copy_tracker_message(void *ctx, char *buf, size_t len)
{
    return bittern_torrent_handle_tracker_message(ctx, 0, buf, len);
}

static void last_error_buffers(void)
{
    /* A failure whose message and path hold multi-byte characters. */
    char path[1200];
    snprintf(path, sizeof path, "%s/m\xc3\xa9t\xc3\xa9o-\xe2\x82\xac-missing.torrent", tmp);
    bittern_torrent *t = NULL;
    CHECK_RESULT(bittern_torrent_load(path, &t), BITTERN_RESULT_IO);
    size_t n = bittern_last_error_message(NULL, 0);
    char *full = malloc(n + 1);
    CHECK(bittern_last_error_message(full, n + 1) == n && strlen(full) == n);
    CHECK(strstr(full, "\xe2\x82\xac") != NULL);
    check_copies("bittern_last_error_message", copy_message, NULL, full, n);
    free(full);
    check_copies("bittern_last_error_path", copy_path, NULL, path, strlen(path));
}

static size_t copy_error_message(void *ctx, char *buf, size_t len)
{
    return bittern_torrent_handle_error_message(ctx, buf, len);
}

/* A torrent stopped by a storage error (its folder would go below a file whose name holds
 * multi-byte characters): its message copied into every length of buffer. */
static void storage_error_buffers(void)
{
    bittern_session_config *config = NULL;
    bittern_session *session = NULL;
    bittern_torrent_handle *handle = NULL;
    CHECK_OK(bittern_session_config_new(&config));
    CHECK_OK(bittern_session_config_set_listen(config, "127.0.0.1:0"));
    CHECK_OK(bittern_session_new(config, &session));
    bittern_session_config_free(config);
    char blocker[1200], dir[1300];
    snprintf(blocker, sizeof blocker, "%s/bl\xc3\xb6" "cker-\xe2\x82\xac", tmp);
    snprintf(dir, sizeof dir, "%s/below", blocker);
    FILE *f = fopen(blocker, "w");
    CHECK(f != NULL && fclose(f) == 0);
    bittern_torrent *torrent = make_torrent("blocked.bin", NULL);
    CHECK_OK(bittern_session_add(session, torrent, dir, NULL, &handle));
    bittern_torrent_free(torrent);
    bool finished = true;
    CHECK_OK(bittern_torrent_handle_wait(handle, 30000, &finished));
    CHECK(!finished);
    size_t n = bittern_torrent_handle_error_message(handle, NULL, 0);
    CHECK(n > 0);
    char *full = malloc(n + 1);
    CHECK(bittern_torrent_handle_error_message(handle, full, n + 1) == n);
    CHECKF(strstr(full, "\xe2\x82\xac") != NULL, "%s", full);
    check_copies("bittern_torrent_handle_error_message", copy_error_message, handle, full, n);
    free(full);
    bittern_torrent_handle_free(handle);
    bittern_session_free(session);
}

static void tracker_message_buffers(void)
{
    bittern_session_config *config = NULL;
    bittern_session *session = NULL;
    bittern_torrent_handle *handle = NULL;
    CHECK_OK(bittern_session_config_new(&config));
    CHECK_OK(bittern_session_config_set_listen(config, "127.0.0.1:0"));
    CHECK_OK(bittern_session_config_set_tracker_timeout_ms(config, 500));
    CHECK_OK(bittern_session_new(config, &session));
    bittern_session_config_free(config);
    /* Port 1 on loopback refuses the connection: the tracker fails at once. */
    bittern_torrent *torrent = make_torrent("tracked.bin", "http://127.0.0.1:1/announce");
    char dir[1200];
    snprintf(dir, sizeof dir, "%s/tracked", tmp);
    CHECK_OK(bittern_session_add(session, torrent, dir, NULL, &handle));
    bittern_torrent_free(torrent);
    bittern_tracker_state state = BITTERN_TRACKER_STATE_NOT_TRIED;
    for (int i = 0; i < 300 && state != BITTERN_TRACKER_STATE_FAILING; i++) {
        CHECK_OK(bittern_torrent_handle_tracker_state(handle, 0, &state));
        usleep(50 * 1000);
    }
    CHECK(state == BITTERN_TRACKER_STATE_FAILING);
    size_t n = bittern_torrent_handle_tracker_message(handle, 0, NULL, 0);
    CHECK(n > 0);
    char *full = malloc(n + 1);
    CHECK(bittern_torrent_handle_tracker_message(handle, 0, full, n + 1) == n);
    /* The message may change while the tracker retries: compare against a fresh copy only if
     * it did not (each retry within this test gives the same refusal). */
    check_copies("bittern_torrent_handle_tracker_message", copy_tracker_message, handle, full, n);
    free(full);
    /* An index past the trackers: 0 and "" (len 1), nothing past the end. */
    unsigned char small[1 + SLACK];
    memset(small, CANARY, sizeof small);
    CHECK(bittern_torrent_handle_tracker_message(handle, SIZE_MAX, (char *)small, 1) == 0);
    CHECK(small[0] == 0 && canary_intact(small + 1, SLACK));
    CHECK(bittern_torrent_handle_tracker_url(handle, SIZE_MAX) == NULL);
    CHECK_RESULT(bittern_torrent_handle_tracker_state(handle, SIZE_MAX, &state),
                 BITTERN_RESULT_NOT_FOUND);
    uint32_t u = 7;
    CHECK_RESULT(bittern_torrent_handle_tracker_peers(handle, SIZE_MAX, &u),
                 BITTERN_RESULT_NOT_FOUND);
    CHECK_RESULT(bittern_torrent_handle_tracker_failures(handle, SIZE_MAX, &u),
                 BITTERN_RESULT_NOT_FOUND);
    CHECK_RESULT(bittern_torrent_handle_tracker_tier(handle, SIZE_MAX, &u),
                 BITTERN_RESULT_NOT_FOUND);
    CHECK(u == 7);

    /* A status struct from an older, smaller header: nothing past its struct_size written. */
    union {
        bittern_torrent_status status;
        unsigned char bytes[sizeof(bittern_torrent_status) + SLACK];
    } s;
    size_t sizes[] = {offsetof(bittern_torrent_status, pieces_done),
                      offsetof(bittern_torrent_status, eta) + sizeof(uint64_t),
                      offsetof(bittern_torrent_status, pieces_checked) + 2,
                      sizeof(bittern_torrent_status)};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        memset(s.bytes, CANARY, sizeof s.bytes);
        s.status.struct_size = sizes[i];
        CHECK_OK(bittern_torrent_handle_status(handle, &s.status));
        CHECKF(s.status.struct_size <= sizes[i], "struct_size %zu became %zu", sizes[i],
               s.status.struct_size);
        CHECKF(canary_intact(s.bytes + sizes[i], sizeof s.bytes - sizes[i]),
               "status with struct_size %zu wrote past it", sizes[i]);
    }
    for (size_t bad = 0; bad < sizeof(size_t); bad++) {
        memset(s.bytes, CANARY, sizeof s.bytes);
        s.status.struct_size = bad;
        CHECK_RESULT(bittern_torrent_handle_status(handle, &s.status),
                     BITTERN_RESULT_INVALID_ARGUMENT);
        CHECK(s.status.struct_size == bad &&
              canary_intact(s.bytes + sizeof(size_t), sizeof s.bytes - sizeof(size_t)));
    }

    /* The handle and an event outlive their session (documented): the last status, pause
     * refused; the event's accessors work until its own _free. */
    bittern_event *event = NULL;
    CHECK_OK(bittern_session_poll_event(session, 10000, &event));
    bittern_session_free(session);
    CHECK(bittern_event_kind_name(bittern_event_get_kind(event)) != NULL);
    uint8_t event_hash[20];
    CHECK_OK(bittern_event_info_hash(event, event_hash));
    bittern_event_free(event);
    bittern_torrent_status status = {.struct_size = sizeof status};
    CHECK_OK(bittern_torrent_handle_status(handle, &status));
    CHECK(status.piece_count > 0);
    CHECK_RESULT(bittern_torrent_handle_pause(handle), BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(bittern_torrent_handle_resume(handle), BITTERN_RESULT_INVALID_ARGUMENT);
    bool finished = true;
    CHECK_OK(bittern_torrent_handle_wait(handle, 10, &finished));
    bittern_torrent_handle_free(handle);
}

static void fixed_buffers(void)
{
    bittern_torrent *torrent = make_torrent("fixed.bin", NULL);
    unsigned char hex[41 + SLACK];
    memset(hex, CANARY, sizeof hex);
    CHECK_OK(bittern_torrent_info_hash_hex(torrent, (char *)hex));
    CHECK(strlen((char *)hex) == 40 && canary_intact(hex + 41, SLACK));
    unsigned char hash[20 + SLACK];
    memset(hash, CANARY, sizeof hash);
    CHECK_OK(bittern_torrent_info_hash(torrent, hash));
    CHECK(canary_intact(hash + 20, SLACK));
    memset(hash, CANARY, sizeof hash);
    CHECK_OK(bittern_torrent_piece_hash(torrent, 0, hash));
    CHECK(canary_intact(hash + 20, SLACK));
    memset(hash, CANARY, sizeof hash);
    CHECK_RESULT(bittern_torrent_piece_hash(torrent, SIZE_MAX, hash),
                 BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK(canary_intact(hash, sizeof hash));

    /* A tracker of our own, two peers announcing: the second is told of the first. */
    bittern_tracker_config *tc = NULL;
    bittern_tracker *tracker = NULL;
    CHECK_OK(bittern_tracker_config_new(&tc));
    CHECK_OK(bittern_tracker_config_set_bind(tc, "127.0.0.1:0"));
    CHECK_OK(bittern_tracker_config_set_threads(tc, 1));
    CHECK_OK(bittern_tracker_start(tc, &tracker));
    /* The tracker outlives its config (documented). */
    bittern_tracker_config_free(tc);
    uint8_t ih[20];
    CHECK_OK(bittern_torrent_info_hash(torrent, ih));
    bittern_announce_options *options = NULL;
    bittern_announce_response *response = NULL;
    CHECK_OK(bittern_announce_options_new(&options));
    CHECK_OK(bittern_announce_options_set_peer_id(options, (const uint8_t *)"-XX0000-aaaaaaaaaaaa"));
    CHECK_OK(bittern_announce_options_set_port(options, 6001));
    CHECK_OK(bittern_announce_options_set_left(options, 1000));
    CHECK_OK(bittern_announce_url(bittern_tracker_url(tracker), ih, options, &response));
    bittern_announce_response_free(response);
    response = NULL;
    CHECK_OK(bittern_announce_options_set_peer_id(options, (const uint8_t *)"-XX0000-bbbbbbbbbbbb"));
    CHECK_OK(bittern_announce_options_set_port(options, 6002));
    CHECK_OK(bittern_announce_url(bittern_tracker_url(tracker), ih, options, &response));
    CHECK(bittern_announce_response_peer_count(response) == 1);
    unsigned char ip[BITTERN_IP_STRING_SIZE + SLACK];
    memset(ip, CANARY, sizeof ip);
    uint16_t port = 0;
    CHECK_OK(bittern_announce_response_peer_get(response, 0, (char *)ip, &port));
    CHECK(strcmp((char *)ip, "127.0.0.1") == 0 && port == 6001);
    CHECK(canary_intact(ip + BITTERN_IP_STRING_SIZE, SLACK));
    memset(ip, CANARY, sizeof ip);
    CHECK_RESULT(bittern_announce_response_peer_get(response, SIZE_MAX, (char *)ip, &port),
                 BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK(canary_intact(ip, sizeof ip));
    bittern_announce_response_free(response);

    /* Tracker stats with a small struct_size. */
    union {
        bittern_tracker_stats stats;
        unsigned char bytes[sizeof(bittern_tracker_stats) + SLACK];
    } s;
    size_t cut = offsetof(bittern_tracker_stats, peers);
    memset(s.bytes, CANARY, sizeof s.bytes);
    s.stats.struct_size = cut;
    CHECK_OK(bittern_tracker_get_stats(tracker, &s.stats));
    CHECK(s.stats.struct_size == cut && s.stats.torrents == 1);
    CHECK(canary_intact(s.bytes + cut, sizeof s.bytes - cut));
    /* Scrape stats likewise, and an info-hash that is not tracked. */
    union {
        bittern_scrape_stats stats;
        unsigned char bytes[sizeof(bittern_scrape_stats) + SLACK];
    } sc;
    cut = offsetof(bittern_scrape_stats, downloaded);
    memset(sc.bytes, CANARY, sizeof sc.bytes);
    sc.stats.struct_size = cut;
    CHECK_OK(bittern_scrape_url(bittern_tracker_url(tracker), ih, 5000, &sc.stats));
    CHECK(sc.stats.struct_size == cut && sc.stats.complete == 0);
    CHECK(canary_intact(sc.bytes + cut, sizeof sc.bytes - cut));
    bittern_announce_options_free(options);
    bittern_tracker_free(tracker);
    bittern_torrent_free(torrent);
}

static void lengths_and_indexes(void)
{
    bittern_bencode *doc = NULL;
    bittern_torrent *t = NULL;
    /* Empty input: an error of the input, not of a NULL pointer. */
    CHECK_RESULT(bittern_bencode_check(NULL, 0, true), BITTERN_RESULT_BENCODE);
    CHECK_RESULT(bittern_bencode_check((const uint8_t *)"", 0, false), BITTERN_RESULT_BENCODE);
    CHECK_RESULT(bittern_bencode_decode(NULL, 0, false, &doc), BITTERN_RESULT_BENCODE);
    CHECK(doc == NULL);
    bittern_result r = bittern_torrent_from_bytes(NULL, 0, &t);
    CHECK(r == BITTERN_RESULT_BENCODE || r == BITTERN_RESULT_METAINFO);
    CHECK(t == NULL);
    /* A huge length with no data: NULL, never read. */
    CHECK_RESULT(bittern_bencode_check(NULL, SIZE_MAX, true), BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_bencode_decode(NULL, SIZE_MAX, true, &doc), BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_torrent_from_bytes(NULL, SIZE_MAX, &t), BITTERN_RESULT_NULL_PARAMETER);
    bittern_bytes_free(NULL, SIZE_MAX);
    bittern_bytes_free(NULL, 0);
    /* A length that cuts a valid document short. */
    const char *text = "d3:keyli1ei2eee";
    for (size_t len = 0; len < strlen(text); len++) {
        CHECKF(bittern_bencode_check((const uint8_t *)text, len, true) == BITTERN_RESULT_BENCODE,
               "%zu bytes of %s", len, text);
    }
    CHECK_OK(bittern_bencode_decode((const uint8_t *)text, strlen(text), true, &doc));
    /* Huge node and item indexes. */
    size_t node = 9, key = 9, value = 9;
    bittern_bencode_type type;
    int64_t i64;
    const uint8_t *bytes;
    size_t len;
    CHECK_RESULT(bittern_bencode_node_type(doc, SIZE_MAX, &type), BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(bittern_bencode_node_int(doc, SIZE_MAX, &i64), BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(bittern_bencode_node_bytes(doc, SIZE_MAX, &bytes, &len),
                 BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(bittern_bencode_node_len(doc, SIZE_MAX, &len), BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(bittern_bencode_list_get(doc, SIZE_MAX, 0, &node), BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(bittern_bencode_dict_entry(doc, 0, SIZE_MAX, &key, &value),
                 BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(bittern_bencode_dict_get(doc, SIZE_MAX, (const uint8_t *)"key", 3, &value),
                 BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK_OK(bittern_bencode_dict_get(doc, 0, (const uint8_t *)"key", 3, &node));
    CHECK_RESULT(bittern_bencode_list_get(doc, node, SIZE_MAX, &value),
                 BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK(key == 9 && value == 9);
    /* A key with a NUL inside is compared byte for byte, not cut at the NUL; an empty key. */
    CHECK_RESULT(bittern_bencode_dict_get(doc, 0, (const uint8_t *)"key\0x", 5, &value),
                 BITTERN_RESULT_NOT_FOUND);
    CHECK_RESULT(bittern_bencode_dict_get(doc, 0, NULL, 0, &value), BITTERN_RESULT_NOT_FOUND);
    CHECK_RESULT(bittern_bencode_dict_get(doc, 0, NULL, 3, &value), BITTERN_RESULT_NULL_PARAMETER);
    bittern_bencode_free(doc);
    uint64_t offset;
    CHECK_RESULT(bittern_bencode_check((const uint8_t *)"d3:keyi1e", 9, true),
                 BITTERN_RESULT_BENCODE);
    CHECK_OK(bittern_last_error_offset(&offset));
    CHECK(offset <= 9);

    /* Torrent indexes. */
    bittern_torrent *torrent = make_torrent("indexes.bin", "http://127.0.0.1:1/announce");
    const char *s = "unchanged";
    uint64_t a = 5, b = 5;
    bool flag;
    CHECK_RESULT(bittern_torrent_file_get(torrent, SIZE_MAX, &s, &a, &b),
                 BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(bittern_torrent_announce_list_get(torrent, SIZE_MAX, 0, &s),
                 BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(bittern_torrent_announce_list_get(torrent, 0, SIZE_MAX, &s),
                 BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(bittern_torrent_announce_list_tier_size(torrent, SIZE_MAX, &len),
                 BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(bittern_torrent_url_list_get(torrent, SIZE_MAX, &s), BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(bittern_torrent_warning_get(torrent, SIZE_MAX, &flag, &a, &s),
                 BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK(strcmp(s, "unchanged") == 0 && a == 5 && b == 5);
    /* A tier far past the last one is appended as the next, not as tier SIZE_MAX. */
    r = bittern_torrent_announce_list_add(torrent, "http://127.0.0.1:2/announce", SIZE_MAX);
    CHECK(r == BITTERN_RESULT_OK || r == BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK(bittern_torrent_announce_list_tier_count(torrent) <= 2);
    bittern_torrent_free(torrent);

    /* Absurd option values fail cleanly when used. */
    bittern_create_options *options = NULL;
    CHECK_OK(bittern_create_options_new(&options));
    CHECK_OK(bittern_create_options_set_piece_length(options, UINT64_MAX));
    char path[1200];
    snprintf(path, sizeof path, "%s/indexes.bin", tmp);
    CHECK_RESULT(bittern_torrent_create(path, options, NULL, NULL, &t), BITTERN_RESULT_METAINFO);
    CHECK_OK(bittern_create_options_set_piece_length(options, 16385));
    CHECK_RESULT(bittern_torrent_create(path, options, NULL, NULL, &t), BITTERN_RESULT_METAINFO);
    CHECK_OK(bittern_create_options_set_piece_length(options, 0));
    /* A tier far past the last: refused, not made. */
    CHECK_RESULT(bittern_create_options_add_tracker(options, "http://127.0.0.1:1/announce",
                                                    SIZE_MAX),
                 BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK_OK(bittern_create_options_set_creation_date(options, INT64_MIN));
    r = bittern_torrent_create(path, options, NULL, NULL, &t);
    CHECK(r == BITTERN_RESULT_OK || r == BITTERN_RESULT_METAINFO);
    if (r == BITTERN_RESULT_OK) {
        bittern_torrent_free(t);
    }
    bittern_create_options_free(options);
}

static void strings_and_paths(void)
{
    static const char *const bad[] = {
        "\xff\xfe",          /* not UTF-8 at all */
        "abc\xc3",           /* cut inside a character */
        "\xc0\xaf",          /* overlong '/' */
        "\xed\xa0\x80",      /* a UTF-16 surrogate */
        "\xf4\x90\x80\x80",  /* past U+10FFFF */
    };
    bittern_create_options *co = NULL;
    bittern_torrent *torrent = make_torrent("strings.bin", NULL);
    bittern_tracker_config *tc = NULL;
    bittern_session_config *sc = NULL;
    bittern_session *session = NULL;
    bittern_torrent_handle *handle = NULL;
    CHECK_OK(bittern_create_options_new(&co));
    CHECK_OK(bittern_tracker_config_new(&tc));
    CHECK_OK(bittern_session_config_new(&sc));
    CHECK_OK(bittern_session_config_set_listen(sc, "127.0.0.1:0"));
    CHECK_OK(bittern_session_new(sc, &session));
    char dir[1200];
    snprintf(dir, sizeof dir, "%s/strings", tmp);
    CHECK_OK(bittern_session_add(session, torrent, dir, NULL, &handle));
    uint8_t ih[20] = {1};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *s = bad[i];
#define BAD(call) CHECKF((call) == BITTERN_RESULT_INVALID_ARGUMENT, "%s with bad[%zu]", #call, i)
        BAD(bittern_create_options_set_name(co, s));
        BAD(bittern_create_options_set_comment(co, s));
        BAD(bittern_create_options_set_created_by(co, s));
        BAD(bittern_create_options_add_tracker(co, s, 0));
        BAD(bittern_create_options_add_web_seed(co, s));
        BAD(bittern_torrent_set_announce(torrent, s));
        BAD(bittern_torrent_set_comment(torrent, s));
        BAD(bittern_torrent_set_created_by(torrent, s));
        BAD(bittern_torrent_announce_list_add(torrent, s, 0));
        BAD(bittern_torrent_url_list_add(torrent, s));
        BAD(bittern_tracker_config_set_bind(tc, s));
        BAD(bittern_session_config_set_listen(sc, s));
        BAD(bittern_session_add_peer(session, handle, s));
        bittern_announce_response *response = NULL;
        bittern_scrape_stats stats = {.struct_size = sizeof stats};
        bittern_torrent *fetched = NULL;
        BAD(bittern_announce_url(s, ih, NULL, &response));
        BAD(bittern_scrape_url(s, ih, 100, &stats));
        BAD(bittern_torrent_fetch(s, 100, &fetched));
#undef BAD
        CHECK(response == NULL && fetched == NULL);
    }
    /* Nothing of it was kept. */
    CHECK(bittern_torrent_comment(torrent) == NULL && bittern_torrent_announce(torrent) == NULL);
    CHECK(bittern_torrent_url_list_count(torrent) == 0);
    bittern_torrent_handle_free(handle);
    bittern_session_free(session);
    bittern_session_config_free(sc);
    bittern_tracker_config_free(tc);

    /* Paths are bytes as the OS takes them: not UTF-8 is fine, and exact. */
    char path[1200];
    snprintf(path, sizeof path, "%s/not-utf8-\xff\xfe.torrent", tmp);
    CHECK_OK(bittern_torrent_save(torrent, path));
    struct stat st;
    CHECK(stat(path, &st) == 0 && st.st_size > 0);
    bittern_torrent *loaded = NULL;
    CHECK_OK(bittern_torrent_load(path, &loaded));
    bittern_torrent_free(loaded);
    snprintf(path, sizeof path, "%s/missing-\xff\xfe.torrent", tmp);
    CHECK_RESULT(bittern_torrent_load(path, &loaded), BITTERN_RESULT_IO);
    char got[1200];
    CHECK(bittern_last_error_path(got, sizeof got) == strlen(path) && strcmp(got, path) == 0);
    /* The message is UTF-8 still (the bad bytes replaced). */
    char message[2048];
    bittern_last_error_message(message, sizeof message);
    CHECK(strstr(message, "\xff") == NULL);
    snprintf(path, sizeof path, "%s/folder-\xff", tmp);
    CHECK(mkdir(path, 0700) == 0);
    char file[1300];
    snprintf(file, sizeof file, "%s/file-\xfe.bin", path);
    write_data(file, 1000);
    bittern_torrent *made = NULL;
    CHECK_OK(bittern_torrent_create(path, co, NULL, NULL, &made));
    if (made != NULL) {
        const char *name = bittern_torrent_name(made);
        CHECK(name != NULL && strstr(name, "\xef\xbf\xbd") != NULL); /* U+FFFD */
        const uint8_t *raw;
        size_t raw_len;
        CHECK_OK(bittern_torrent_name_bytes(made, &raw, &raw_len));
        CHECK(raw_len == strlen("folder-\xff") && memcmp(raw, "folder-\xff", raw_len) == 0);
        bittern_torrent_free(made);
    }
    bittern_tracker_config *tc2 = NULL;
    CHECK_OK(bittern_tracker_config_new(&tc2));
    CHECK_OK(bittern_tracker_config_set_torrents_dir(tc2, path));
    bittern_tracker_config_free(tc2);
    bittern_create_options_free(co);
    bittern_torrent_free(torrent);

    /* A NUL inside a torrent's name: the C string shows U+FFFD in its place, never cut short;
     * the bytes stay exact. */
    static const char with_nul[] =
        "d4:infod6:lengthi1e4:name3:a\0b12:piece lengthi16384e6:pieces20:"
        "aaaaaaaaaaaaaaaaaaaaee";
    bittern_torrent *t = NULL;
    bittern_result r = bittern_torrent_from_bytes((const uint8_t *)with_nul, sizeof with_nul - 1, &t);
    CHECKF(r == BITTERN_RESULT_OK || r == BITTERN_RESULT_METAINFO, "gave %s",
           bittern_result_name(r));
    if (r == BITTERN_RESULT_OK) {
        const char *name = bittern_torrent_name(t);
        CHECK(name != NULL && strcmp(name, "a\xef\xbf\xbd" "b") == 0);
        const uint8_t *raw;
        size_t raw_len;
        CHECK_OK(bittern_torrent_name_bytes(t, &raw, &raw_len));
        CHECK(raw_len == 3 && memcmp(raw, "a\0b", 3) == 0);
        bittern_torrent_free(t);
    }
}

/* Absurd timeouts: taken (or refused) without overflowing a deadline. */
static void absurd_timeouts(void)
{
    bittern_session_config *sc = NULL;
    bittern_session *session = NULL;
    CHECK_OK(bittern_session_config_new(&sc));
    CHECK_OK(bittern_session_config_set_listen(sc, "127.0.0.1:0"));
    bittern_result r1 = bittern_session_config_set_handshake_timeout_ms(sc, UINT64_MAX);
    bittern_result r2 = bittern_session_config_set_idle_timeout_ms(sc, UINT64_MAX);
    bittern_result r3 = bittern_session_config_set_tracker_timeout_ms(sc, UINT32_MAX);
    CHECK(r1 == BITTERN_RESULT_OK || r1 == BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK(r2 == BITTERN_RESULT_OK || r2 == BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK(r3 == BITTERN_RESULT_OK || r3 == BITTERN_RESULT_INVALID_ARGUMENT);
    bittern_result r = bittern_session_new(sc, &session);
    CHECK(r == BITTERN_RESULT_OK || r == BITTERN_RESULT_INVALID_ARGUMENT);
    if (r == BITTERN_RESULT_OK) {
        /* A torrent with a tracker and a peer that answer nothing, waited on briefly. */
        bittern_torrent *torrent = make_torrent("timeouts.bin", "http://127.0.0.1:1/announce");
        bittern_torrent_handle *handle = NULL;
        char dir[1200];
        snprintf(dir, sizeof dir, "%s/timeouts", tmp);
        CHECK_OK(bittern_session_add(session, torrent, dir, NULL, &handle));
        CHECK_OK(bittern_session_add_peer(session, handle, "127.0.0.1:1"));
        bool finished = true;
        CHECK_OK(bittern_torrent_handle_wait(handle, 300, &finished));
        bittern_torrent_status status = {.struct_size = sizeof status};
        CHECK_OK(bittern_torrent_handle_status(handle, &status));
        CHECK(status.state != BITTERN_TORRENT_STATE_ERROR);
        bittern_torrent_handle_free(handle);
        bittern_torrent_free(torrent);
        bittern_session_free(session);
    }
    bittern_session_config_free(sc);

    bittern_tracker_config *tc = NULL;
    bittern_tracker *tracker = NULL;
    CHECK_OK(bittern_tracker_config_new(&tc));
    CHECK_OK(bittern_tracker_config_set_bind(tc, "127.0.0.1:0"));
    CHECK_OK(bittern_tracker_config_set_threads(tc, 1));
    r = bittern_tracker_config_set_idle_timeout_ms(tc, UINT64_MAX);
    CHECK(r == BITTERN_RESULT_OK || r == BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK_OK(bittern_tracker_config_set_interval(tc, UINT32_MAX));
    CHECK_OK(bittern_tracker_config_set_min_interval(tc, UINT32_MAX));
    r = bittern_tracker_start(tc, &tracker);
    CHECK(r == BITTERN_RESULT_OK || r == BITTERN_RESULT_INVALID_ARGUMENT);
    if (r == BITTERN_RESULT_OK) {
        bittern_announce_options *options = NULL;
        bittern_announce_response *response = NULL;
        uint8_t ih[20] = {7};
        CHECK_OK(bittern_announce_options_new(&options));
        CHECK_OK(bittern_announce_options_set_numwant(options, UINT32_MAX));
        CHECK_OK(bittern_announce_options_set_uploaded(options, UINT64_MAX));
        CHECK_OK(bittern_announce_options_set_downloaded(options, UINT64_MAX));
        CHECK_OK(bittern_announce_options_set_left(options, UINT64_MAX));
        CHECK_OK(bittern_announce_options_set_timeout_ms(options, UINT32_MAX));
        CHECK_OK(bittern_announce_url(bittern_tracker_url(tracker), ih, options, &response));
        bittern_announce_response_free(response);
        bittern_announce_options_free(options);
        bittern_tracker_free(tracker);
    }
    bittern_tracker_config_free(tc);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        printf("usage: test_misuse TMPDIR\n");
        return 2;
    }
    snprintf(tmp, sizeof tmp, "%s", argv[1]);
    last_error_buffers();
    fixed_buffers();
    lengths_and_indexes();
    strings_and_paths();
    tracker_message_buffers();
    storage_error_buffers();
    absurd_timeouts();
    return finish("test_misuse");
}
