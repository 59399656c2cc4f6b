/* Sessions through the C interface: a tracker, a seeder and a downloader on loopback, a small
 * torrent from one to the other, its events and status; pausing, a storage error, removing,
 * fetching a torrent by URL, polling from several threads, refusals and NULL arguments; a
 * download from a magnet link (the metadata from the seeder first).
 *
 * Usage: test_session TEMP_DIR
 *
 * Data is small (about 300 KiB) and the timeouts generous: this runs under valgrind. */
#define _POSIX_C_SOURCE 200809L

#include "check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *temp;

#define DATA_LEN (300 * 1024 + 123)
#define PIECE_LEN 16384
#define WAIT_MS 60000

/* What memset(0xab) leaves in a uint64_t: a field the library did not write. */
#define UNTOUCHED UINT64_C(0xabababababababab)

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void path_of(char *out, size_t size, const char *relative)
{
    snprintf(out, size, "%s/%s", temp, relative);
}

static bittern_tracker *start_tracker(const char *torrents_dir)
{
    bittern_tracker_config *config = NULL;
    CHECK_OK(bittern_tracker_config_new(&config));
    CHECK_OK(bittern_tracker_config_set_bind(config, "127.0.0.1:0"));
    CHECK_OK(bittern_tracker_config_set_threads(config, 1));
    CHECK_OK(bittern_tracker_config_set_torrents_dir(config, torrents_dir));
    bittern_tracker *tracker = NULL;
    CHECK_OK(bittern_tracker_start(config, &tracker));
    bittern_tracker_config_free(config);
    return tracker;
}

/* A session on 127.0.0.1 (a port picked by the system) that lets both ends of the test, on
 * the same address, be peers. */
static bittern_session *start_session(void)
{
    bittern_session_config *config = NULL;
    CHECK_OK(bittern_session_config_new(&config));
    CHECK_OK(bittern_session_config_set_listen(config, "127.0.0.1:0"));
    CHECK_OK(bittern_session_config_set_max_peers_per_ip(config, 16));
    CHECK_OK(bittern_session_config_set_max_peers_per_torrent(config, 16));
    CHECK_OK(bittern_session_config_set_unchoke_slots(config, 4));
    CHECK_OK(bittern_session_config_set_handshake_timeout_ms(config, 20000));
    CHECK_OK(bittern_session_config_set_idle_timeout_ms(config, 120000));
    CHECK_OK(bittern_session_config_set_tracker_timeout_ms(config, 10000));
    bittern_session *session = NULL;
    CHECK_OK(bittern_session_new(config, &session));
    bittern_session_config_free(config);
    CHECK(bittern_session_listen_port(session) != 0);
    return session;
}

static void test_null_arguments(void)
{
    bittern_session_config_free(NULL);
    bittern_session_free(NULL);
    bittern_add_options_free(NULL);
    bittern_torrent_handle_free(NULL);
    bittern_event_free(NULL);

    CHECK_RESULT(bittern_session_config_new(NULL), BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_session_config_set_listen(NULL, "127.0.0.1:0"),
                 BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_session_config_set_max_peers_per_ip(NULL, 1),
                 BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_session_new(NULL, NULL), BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_add_options_new(NULL), BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_add_options_set_seed_only(NULL, true), BITTERN_RESULT_NULL_PARAMETER);
    CHECK(bittern_session_listen_port(NULL) == 0);
    uint8_t id[20];
    CHECK_RESULT(bittern_session_peer_id(NULL, id), BITTERN_RESULT_NULL_PARAMETER);

    bittern_torrent *t = (bittern_torrent *)1; /* never dereferenced: a NULL comes first */
    bittern_torrent_handle *h = NULL;
    CHECK_RESULT(bittern_session_add(NULL, t, "x", NULL, &h), BITTERN_RESULT_NULL_PARAMETER);
    CHECK(h == NULL);
    CHECK_RESULT(bittern_session_add_peer(NULL, NULL, "127.0.0.1:1"),
                 BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_session_remove(NULL, NULL), BITTERN_RESULT_NULL_PARAMETER);
    bittern_event *ev = NULL;
    CHECK_RESULT(bittern_session_poll_event(NULL, 0, &ev), BITTERN_RESULT_NULL_PARAMETER);
    CHECK(ev == NULL);

    bittern_torrent_status status = {.struct_size = sizeof status};
    CHECK_RESULT(bittern_torrent_handle_status(NULL, &status), BITTERN_RESULT_NULL_PARAMETER);
    bool finished = true;
    CHECK_RESULT(bittern_torrent_handle_wait(NULL, 0, &finished), BITTERN_RESULT_NULL_PARAMETER);
    CHECK(finished);
    CHECK_RESULT(bittern_torrent_handle_pause(NULL), BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_torrent_handle_resume(NULL), BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_torrent_handle_info_hash(NULL, id), BITTERN_RESULT_NULL_PARAMETER);

    CHECK(bittern_event_get_kind(NULL) == BITTERN_EVENT_KIND_OTHER);
    CHECK(bittern_event_message(NULL) == NULL);
    uint32_t n = 0;
    CHECK_RESULT(bittern_event_piece(NULL, &n), BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_event_peers(NULL, &n), BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_event_info_hash(NULL, id), BITTERN_RESULT_NULL_PARAMETER);
    bittern_result code = BITTERN_RESULT_OK;
    int errno_value = 0;
    CHECK_RESULT(bittern_event_error_code(NULL, &code), BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_event_os_error(NULL, &errno_value), BITTERN_RESULT_NULL_PARAMETER);
    CHECK(bittern_event_path(NULL) == NULL);
    CHECK_RESULT(bittern_torrent_handle_disconnects(NULL, BITTERN_DISCONNECT_REASON_IDLE, &n),
                 BITTERN_RESULT_NULL_PARAMETER);
    CHECK(strcmp(bittern_event_kind_name(BITTERN_EVENT_KIND_PIECE_VERIFIED),
                 "BITTERN_EVENT_KIND_PIECE_VERIFIED") == 0);

    CHECK_RESULT(bittern_torrent_fetch(NULL, 0, &t), BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_torrent_fetch("http://127.0.0.1:1/x.torrent", 0, NULL),
                 BITTERN_RESULT_NULL_PARAMETER);
}

static void test_config(void)
{
    bittern_session_config *config = NULL;
    CHECK_OK(bittern_session_config_new(&config));
    CHECK_RESULT(bittern_session_config_set_listen(config, "nonsense"),
                 BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK_LAST_ERROR_HAS("nonsense");
    CHECK_RESULT(bittern_session_config_set_listen(config, "127.0.0.1:99999"),
                 BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK_OK(bittern_session_config_set_listen(config, NULL));
    CHECK_OK(bittern_session_config_set_listen(config, "127.0.0.1:0"));
    bittern_session *s = NULL;
    CHECK_OK(bittern_session_new(config, &s));
    uint16_t port = bittern_session_listen_port(s);
    CHECK(port != 0);
    uint8_t id[20];
    CHECK_OK(bittern_session_peer_id(s, id));
    CHECKF(memcmp(id, "-BI", 3) == 0, "peer id %.20s", (const char *)id);

    /* The same port again: taken. */
    char taken[64];
    snprintf(taken, sizeof taken, "127.0.0.1:%u", port);
    CHECK_OK(bittern_session_config_set_listen(config, taken));
    bittern_session *again = NULL;
    CHECK_RESULT(bittern_session_new(config, &again), BITTERN_RESULT_IO);
    CHECK(again == NULL);
    CHECK_LAST_ERROR_HAS(taken);
    int os_error = 0;
    CHECK_OK(bittern_last_error_os_error(&os_error));
    CHECKF(os_error == EADDRINUSE, "errno %d", os_error);
    CHECK(bittern_last_error_path(NULL, 0) == 0); /* an address, not a file */

    /* Limits are checked by the session, by the rules every face shares: 0 peers cannot work. */
    CHECK_OK(bittern_session_config_set_listen(config, "127.0.0.1:0"));
    CHECK_OK(bittern_session_config_set_max_peers_per_torrent(config, 0));
    CHECK_RESULT(bittern_session_new(config, &again), BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK_LAST_ERROR_HAS("max_peers_per_torrent");
    CHECK_RESULT(bittern_last_error_os_error(&os_error), BITTERN_RESULT_NOT_FOUND);
    CHECK_OK(bittern_session_config_set_max_peers_per_torrent(config, 50));
    CHECK_OK(bittern_session_config_set_idle_timeout_ms(config, 0));
    CHECK_RESULT(bittern_session_new(config, &again), BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK_LAST_ERROR_HAS("idle_timeout");
    CHECK_OK(bittern_session_config_set_idle_timeout_ms(config, 120000));
    CHECK_OK(bittern_session_config_set_unchoke_slots(config, 0)); /* only the optimistic one */
    CHECK_OK(bittern_session_new(config, &again));
    bittern_session_free(again);

    /* Nothing to poll: NOT_FOUND, at once with a 0 timeout. */
    bittern_event *ev = NULL;
    CHECK_RESULT(bittern_session_poll_event(s, 0, &ev), BITTERN_RESULT_NOT_FOUND);
    CHECK_RESULT(bittern_session_poll_event(s, 50, &ev), BITTERN_RESULT_NOT_FOUND);
    CHECK(ev == NULL);
    bittern_session_free(s);
    bittern_session_config_free(config);
}

/* ---- several threads polling one session ---------------------------------------------------- */

struct poller {
    bittern_session *session;
    uint32_t timeout_ms;
    bittern_result result;
    double took;
};

static void *poll_thread(void *arg)
{
    struct poller *p = arg;
    double start = now_s();
    bittern_event *ev = NULL;
    p->result = bittern_session_poll_event(p->session, p->timeout_ms, &ev);
    p->took = now_s() - start;
    bittern_event_free(ev);
    return NULL;
}

/* While one thread waits long for an event, another's short poll still returns by its own
 * timeout. */
static void test_polling_threads(void)
{
    bittern_session *s = start_session();
    if (s == NULL) {
        return;
    }
    struct poller long_poll = {s, 3000, BITTERN_RESULT_OK, 0};
    struct poller short_poll = {s, 200, BITTERN_RESULT_OK, 0};
    pthread_t a, b;
    CHECK(pthread_create(&a, NULL, poll_thread, &long_poll) == 0);
    struct timespec pause = {0, 300 * 1000 * 1000};
    nanosleep(&pause, NULL);
    CHECK(pthread_create(&b, NULL, poll_thread, &short_poll) == 0);
    pthread_join(b, NULL);
    pthread_join(a, NULL);
    CHECK(short_poll.result == BITTERN_RESULT_NOT_FOUND);
    CHECKF(short_poll.took < 2.5, "a 200 ms poll took %.2f s", short_poll.took);
    CHECK(long_poll.result == BITTERN_RESULT_NOT_FOUND);
    CHECKF(long_poll.took >= 2.9, "a 3 s poll took %.2f s", long_poll.took);
    bittern_session_free(s);
}

/* ---- a seeder and a downloader -------------------------------------------------------------- */

static int same_file(const char *a, const char *b)
{
    size_t la = 0, lb = 0;
    unsigned char *da = read_file(a, &la);
    unsigned char *db = read_file(b, &lb);
    int same = da != NULL && db != NULL && la == lb && memcmp(da, db, la) == 0;
    free(da);
    free(db);
    return same;
}

static int event_is_about(const bittern_event *ev, const uint8_t hash[20])
{
    uint8_t got[20];
    return bittern_event_info_hash(ev, got) == BITTERN_RESULT_OK && memcmp(got, hash, 20) == 0;
}

/* Polls `s` until a FINISHED event about `hash`; counts what came on the way. */
static void poll_until_finished(bittern_session *s, const uint8_t hash[20], uint32_t pieces)
{
    /* The first event is kept to the end: later polls must not change it. */
    bittern_event *first = NULL;
    int finished = 0, verified = 0, replies = 0;
    double deadline = now_s() + 60;
    while (!finished && now_s() < deadline) {
        bittern_event *ev = NULL;
        bittern_result r = bittern_session_poll_event(s, 1000, &ev);
        if (r == BITTERN_RESULT_NOT_FOUND) {
            continue;
        }
        CHECK_OK(r);
        if (ev == NULL) {
            break;
        }
        CHECK(event_is_about(ev, hash));
        uint32_t n = 0;
        switch (bittern_event_get_kind(ev)) {
        case BITTERN_EVENT_KIND_PIECE_VERIFIED:
            verified++;
            CHECK_OK(bittern_event_piece(ev, &n));
            CHECKF(n < pieces, "piece %" PRIu32 " of %" PRIu32, n, pieces);
            CHECK(bittern_event_message(ev) == NULL);
            CHECK_RESULT(bittern_event_peers(ev, &n), BITTERN_RESULT_NOT_FOUND);
            break;
        case BITTERN_EVENT_KIND_FINISHED:
            finished = 1;
            CHECK_RESULT(bittern_event_piece(ev, &n), BITTERN_RESULT_NOT_FOUND);
            break;
        case BITTERN_EVENT_KIND_TRACKER_REPLY:
            replies++;
            CHECK(bittern_event_message(ev) != NULL &&
                  strstr(bittern_event_message(ev), "/announce") != NULL);
            CHECK_OK(bittern_event_peers(ev, &n));
            break;
        default:
            printf("note: event %s: %s\n", bittern_event_kind_name(bittern_event_get_kind(ev)),
                   bittern_event_message(ev) ? bittern_event_message(ev) : "");
            break;
        }
        if (first == NULL) {
            first = ev;
        } else {
            bittern_event_free(ev);
        }
    }
    CHECK(finished);
    CHECKF((uint32_t)verified == pieces, "%d PIECE_VERIFIED events for %" PRIu32 " pieces",
           verified, pieces);
    CHECK(first != NULL && event_is_about(first, hash));
    bittern_event_free(first);
    (void)replies; /* the tracker may or may not have answered before the seeder did its part */
}

/* Waits (up to 30 s) until the torrent's status holds `want` (statuses are published about
 * twice a second); leaves the last status read in `*st`. */
static int wait_for_status(const bittern_torrent_handle *h, bittern_torrent_status *st,
                           int (*want)(const bittern_torrent_status *))
{
    double deadline = now_s() + 30;
    do {
        st->struct_size = sizeof *st;
        if (bittern_torrent_handle_status(h, st) == BITTERN_RESULT_OK && want(st)) {
            return 1;
        }
        struct timespec pause = {0, 50 * 1000 * 1000};
        nanosleep(&pause, NULL);
    } while (now_s() < deadline);
    return 0;
}

static int is_paused(const bittern_torrent_status *st)
{
    return st->state == BITTERN_TORRENT_STATE_PAUSED;
}

static int is_seeding(const bittern_torrent_status *st)
{
    return st->state == BITTERN_TORRENT_STATE_SEEDING;
}

static int is_error(const bittern_torrent_status *st)
{
    return st->state == BITTERN_TORRENT_STATE_ERROR;
}

/* A download whose file cannot be written (a folder stands where it goes) stops in the error
 * state with a STORAGE_ERROR event; resumed once the way is clear, it opens and checks its files
 * again (the pieces it had written went with the file), and completes. */
static void test_storage_error(const bittern_torrent *torrent, const char *seeder_addr,
                               const char *data)
{
    char dir[4096], file[4096];
    path_of(dir, sizeof dir, "blocked");
    path_of(file, sizeof file, "blocked/data.bin");
    bittern_session *s = start_session();
    bittern_torrent_handle *h = NULL;
    CHECK_OK(bittern_session_add(s, torrent, dir, NULL, &h));
    if (h == NULL) {
        bittern_session_free(s);
        return;
    }
    /* Paused until the way is blocked (its tracker would bring the seeder at once), and after
     * the check that follows the add (which made the file): a write fails, not the check. */
    CHECK_OK(bittern_torrent_handle_pause(h));
    bool checked = false;
    CHECK_OK(bittern_torrent_handle_wait_checked(h, WAIT_MS, &checked));
    CHECK(checked);
    CHECK(unlink(file) == 0 && mkdir(file, 0755) == 0);
    CHECK_OK(bittern_torrent_handle_resume(h));
    CHECK_OK(bittern_session_add_peer(s, h, seeder_addr));
    bool finished = true;
    double started = now_s();
    CHECK_OK(bittern_torrent_handle_wait(h, WAIT_MS, &finished));
    CHECK(!finished);
    CHECKF(now_s() - started < 20, "the wait ended at the error, not at its timeout");
    bittern_torrent_status st;
    memset(&st, 0, sizeof st);
    CHECK(wait_for_status(h, &st, is_error));
    int storage_errors = 0;
    bittern_event *ev = NULL;
    while (bittern_session_poll_event(s, 0, &ev) == BITTERN_RESULT_OK) {
        if (bittern_event_get_kind(ev) == BITTERN_EVENT_KIND_STORAGE_ERROR) {
            storage_errors++;
            const char *message = bittern_event_message(ev);
            CHECKF(message != NULL && strstr(message, "data.bin") != NULL, "%s",
                   message ? message : "(none)");
            /* The failure itself: its code, its file, and no errno (the folder was seen for
             * what it is before any system call failed). */
            bittern_result code = BITTERN_RESULT_OK;
            CHECK_OK(bittern_event_error_code(ev, &code));
            CHECK(code == BITTERN_RESULT_IO);
            const char *path = bittern_event_path(ev);
            CHECKF(path != NULL && strcmp(path, file) == 0, "%s", path ? path : "(none)");
            int os_error = 0;
            CHECK_RESULT(bittern_event_os_error(ev, &os_error), BITTERN_RESULT_NOT_FOUND);
        } else {
            bittern_result code = BITTERN_RESULT_OK;
            CHECK_RESULT(bittern_event_error_code(ev, &code), BITTERN_RESULT_NOT_FOUND);
            CHECK(bittern_event_path(ev) == NULL);
        }
        bittern_event_free(ev);
    }
    CHECK(storage_errors > 0);
    char why[4096];
    CHECK(bittern_torrent_handle_error_message(h, why, sizeof why) > 0);
    CHECKF(strstr(why, "data.bin") != NULL, "%s", why);

    CHECK(rmdir(file) == 0);
    CHECK_OK(bittern_torrent_handle_resume(h));
    CHECK(bittern_torrent_handle_error_message(h, why, sizeof why) == 0 && why[0] == '\0');
    started = now_s();
    CHECK_OK(bittern_torrent_handle_wait(h, WAIT_MS, &finished));
    memset(&st, 0, sizeof st);
    st.struct_size = sizeof st;
    CHECK_OK(bittern_torrent_handle_status(h, &st));
    bittern_torrent_handle_error_message(h, why, sizeof why);
    CHECKF(finished && same_file(data, file), "after %.1f s: state %d, %u of %u pieces, error '%s'",
           now_s() - started, (int)st.state, st.pieces_done, st.piece_count, why);
    bittern_torrent_handle_free(h);
    bittern_session_free(s);
}

static int uploaded_all(const bittern_torrent_status *st)
{
    return st->uploaded >= DATA_LEN;
}

static void test_swarm(void)
{
    bittern_tracker *tracker = start_tracker(NULL);
    if (tracker == NULL) {
        return;
    }

    /* The data: TEMP/seed/data.bin. */
    char seed_dir[4096], data[4096], down_dir[4096], down_data[4096], bad_dir[4096];
    path_of(seed_dir, sizeof seed_dir, "seed");
    path_of(data, sizeof data, "seed/data.bin");
    path_of(down_dir, sizeof down_dir, "down");
    path_of(down_data, sizeof down_data, "down/data.bin");
    path_of(bad_dir, sizeof bad_dir, "seed/data.bin/below-a-file");
    CHECK(mkdir(seed_dir, 0755) == 0);
    unsigned char *bytes = malloc(DATA_LEN);
    uint32_t x = 12345;
    for (size_t i = 0; bytes != NULL && i < DATA_LEN; i++) {
        x = x * 1103515245u + 12345u;
        bytes[i] = (unsigned char)(x >> 16);
    }
    CHECK(bytes != NULL && write_file(data, bytes, DATA_LEN));
    free(bytes);

    bittern_create_options *create = NULL;
    CHECK_OK(bittern_create_options_new(&create));
    CHECK_OK(bittern_create_options_add_tracker(create, bittern_tracker_url(tracker), 0));
    CHECK_OK(bittern_create_options_set_piece_length(create, PIECE_LEN));
    bittern_torrent *torrent = NULL;
    CHECK_OK(bittern_torrent_create(data, create, NULL, NULL, &torrent));
    bittern_create_options_free(create);
    if (torrent == NULL) {
        bittern_tracker_free(tracker);
        return;
    }
    uint8_t hash[20];
    CHECK_OK(bittern_torrent_info_hash(torrent, hash));
    uint32_t pieces = (uint32_t)bittern_torrent_piece_count(torrent);
    CHECK(pieces == (DATA_LEN + PIECE_LEN - 1) / PIECE_LEN);

    /* The seeder: seed-only, from the data's own folder. */
    bittern_session *seeder = start_session();
    bittern_add_options *seed_only = NULL;
    CHECK_OK(bittern_add_options_new(&seed_only));
    CHECK_OK(bittern_add_options_set_seed_only(seed_only, true));
    CHECK_OK(bittern_add_options_set_trust_data(seed_only, false));
    bittern_torrent_handle *seed = NULL;
    CHECK_OK(bittern_session_add(seeder, torrent, seed_dir, seed_only, &seed));
    /* The add returned before the check of the data; it is over soon after. */
    bool checked = false;
    CHECK_OK(bittern_torrent_handle_wait_checked(seed, 10000, &checked));
    CHECK(checked);
    CHECK_RESULT(bittern_torrent_handle_wait_checked(seed, 0, NULL), BITTERN_RESULT_NULL_PARAMETER);
    bool finished = false;
    CHECK_OK(bittern_torrent_handle_wait(seed, 10000, &finished));
    CHECKF(finished, "the seeder's data checks complete");
    uint8_t handle_hash[20];
    CHECK_OK(bittern_torrent_handle_info_hash(seed, handle_hash));
    CHECK(memcmp(handle_hash, hash, 20) == 0);

    /* The same torrent twice: refused. */
    bittern_torrent_handle *twice = NULL;
    CHECK_RESULT(bittern_session_add(seeder, torrent, seed_dir, seed_only, &twice),
                 BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK_LAST_ERROR_HAS("added already");
    CHECK(twice == NULL);

    /* Seeding from the original data never creates a file: a folder without it stops the
     * torrent in the error state, saying which file is missing. */
    char empty_dir[4096], missing[4096], why[4096];
    path_of(empty_dir, sizeof empty_dir, "empty");
    path_of(missing, sizeof missing, "empty/data.bin");
    CHECK(mkdir(empty_dir, 0755) == 0);
    bittern_session *other = start_session();
    bittern_torrent_handle *stopped = NULL;
    CHECK_OK(bittern_session_add(other, torrent, empty_dir, seed_only, &stopped));
    finished = true;
    CHECK_OK(bittern_torrent_handle_wait(stopped, WAIT_MS, &finished));
    CHECK(!finished);
    CHECK(bittern_torrent_handle_error_message(stopped, why, sizeof why) > 0);
    CHECKF(strstr(why, missing) != NULL && strstr(why, "missing") != NULL, "%s", why);
    bittern_torrent_handle_free(stopped);
    struct stat on_disk;
    CHECK(stat(missing, &on_disk) != 0 && errno == ENOENT);
    bittern_session_free(other);
    bittern_add_options_free(seed_only);

    char seeder_addr[64];
    snprintf(seeder_addr, sizeof seeder_addr, "127.0.0.1:%u",
             bittern_session_listen_port(seeder));

    /* The downloader: first a folder that cannot be made (below a file): added, but stopped
     * in the error state naming it; removed, then added with its own folder. */
    bittern_session *downloader = start_session();
    bittern_torrent_handle *down = NULL;
    CHECK_OK(bittern_session_add(downloader, torrent, bad_dir, NULL, &down));
    if (down != NULL) {
        bittern_torrent_status st;
        memset(&st, 0, sizeof st);
        CHECK(wait_for_status(down, &st, is_error));
        CHECK(bittern_torrent_handle_error_message(down, why, sizeof why) > 0);
        CHECKF(strstr(why, "below-a-file") != NULL, "%s", why);
        CHECK_OK(bittern_session_remove(downloader, down));
        bittern_torrent_handle_free(down);
        down = NULL;
    }
    CHECK_RESULT(bittern_session_add(downloader, torrent, NULL, NULL, &down),
                 BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_session_add(downloader, NULL, down_dir, NULL, &down),
                 BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_session_add(downloader, torrent, down_dir, NULL, NULL),
                 BITTERN_RESULT_NULL_PARAMETER);
    CHECK_OK(bittern_session_add(downloader, torrent, down_dir, NULL, &down));
    test_storage_error(torrent, seeder_addr, data);
    /* The torrent was copied into the session: the caller's may go at once. */
    bittern_torrent_free(torrent);
    if (down == NULL) {
        goto out;
    }

    /* The tracker names the seeder too; this makes it sooner. */
    CHECK_OK(bittern_session_add_peer(downloader, down, seeder_addr));
    CHECK_RESULT(bittern_session_add_peer(downloader, down, "not an address"),
                 BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(bittern_session_add_peer(downloader, down, NULL), BITTERN_RESULT_NULL_PARAMETER);
    /* A handle of another session. */
    CHECK_RESULT(bittern_session_add_peer(downloader, seed, seeder_addr),
                 BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK_LAST_ERROR_HAS("not in this session");

    finished = false;
    CHECK_OK(bittern_torrent_handle_wait(down, WAIT_MS, &finished));
    bittern_torrent_status st;
    memset(&st, 0, sizeof st);
    st.struct_size = sizeof st;
    CHECK_OK(bittern_torrent_handle_status(down, &st));
    CHECKF(finished, "downloaded %" PRIu32 " of %" PRIu32 " pieces, %" PRIu32 " peers",
           st.pieces_done, st.piece_count, st.peers);
    CHECK(same_file(data, down_data));

    poll_until_finished(downloader, hash, pieces);

    /* The whole status. */
    memset(&st, 0xab, sizeof st);
    st.struct_size = sizeof st;
    CHECK_OK(bittern_torrent_handle_status(down, &st));
    CHECK(st.struct_size == sizeof st);
    CHECK(st.state == BITTERN_TORRENT_STATE_SEEDING);
    CHECK(st.pieces_done == pieces && st.piece_count == pieces);
    CHECK(st.bytes_done == DATA_LEN && st.total_length == DATA_LEN);
    CHECKF(st.downloaded >= DATA_LEN, "downloaded %" PRIu64, st.downloaded);
    CHECK(st.eta == 0);
    CHECK(st.download_rate != UNTOUCHED && st.upload_rate != UNTOUCHED);
    CHECK(st.uploaded != UNTOUCHED && st.peers != 0xabababab);
    CHECK(st.pieces_checked == pieces && st.pieces_found == 0);
    CHECKF(st.progress == 1.0, "progress %f", st.progress);

    /* Finished, it dropped the seeder: two seeds have nothing for each other. */
    uint32_t both_seeding = 0;
    CHECK_OK(bittern_torrent_handle_disconnects(down, BITTERN_DISCONNECT_REASON_BOTH_SEEDING,
                                                &both_seeding));
    CHECKF(both_seeding >= 1, "%" PRIu32, both_seeding);
    CHECK(strcmp(bittern_disconnect_reason_name(BITTERN_DISCONNECT_REASON_BOTH_SEEDING),
                 "both_seeding") == 0);
    CHECK_RESULT(bittern_torrent_handle_disconnects(down, BITTERN_DISCONNECT_REASON_IDLE, NULL),
                 BITTERN_RESULT_NULL_PARAMETER);

    /* A smaller (older) struct: written only up to its size. */
    memset(&st, 0xab, sizeof st);
    st.struct_size = offsetof(bittern_torrent_status, bytes_done);
    CHECK_OK(bittern_torrent_handle_status(down, &st));
    /* Written up to the end of the last field that fits (padding after it is not a field). */
    CHECK(st.struct_size == offsetof(bittern_torrent_status, piece_count) + sizeof(uint32_t));
    CHECK(st.state == BITTERN_TORRENT_STATE_SEEDING && st.pieces_done == pieces);
    CHECK(st.piece_count == pieces);
    CHECK(st.bytes_done == UNTOUCHED && st.total_length == UNTOUCHED && st.eta == UNTOUCHED);
    CHECK(st.pieces_checked == 0xabababab);
    st.struct_size = 1;
    CHECK_RESULT(bittern_torrent_handle_status(down, &st), BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(bittern_torrent_handle_status(down, NULL), BITTERN_RESULT_NULL_PARAMETER);

    /* The seeder uploaded it all. */
    memset(&st, 0, sizeof st);
    CHECKF(wait_for_status(seed, &st, uploaded_all),
           "uploaded %" PRIu64 " (upload rate %" PRIu64 ", %" PRIu32 " peers)", st.uploaded,
           st.upload_rate, st.peers);

    /* Pause and resume. */
    CHECK_OK(bittern_torrent_handle_pause(down));
    CHECK(wait_for_status(down, &st, is_paused));
    CHECK(st.peers == 0);
    CHECK_OK(bittern_torrent_handle_resume(down));
    CHECK(wait_for_status(down, &st, is_seeding));

    /* Removing: once; not from another session; the handle lives on, the torrent may come back. */
    CHECK_RESULT(bittern_session_remove(seeder, down), BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK_OK(bittern_session_remove(downloader, down));
    CHECK_RESULT(bittern_session_remove(downloader, down), BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK_LAST_ERROR_HAS("not in this session");
    CHECK_RESULT(bittern_session_add_peer(downloader, down, seeder_addr),
                 BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(bittern_torrent_handle_pause(down), BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK_LAST_ERROR_HAS("removed");
    st.struct_size = sizeof st;
    CHECK_OK(bittern_torrent_handle_status(down, &st));
    CHECK(st.pieces_done == pieces);
    finished = false;
    CHECK_OK(bittern_torrent_handle_wait(down, 0, &finished));
    CHECK(finished);

out:
    /* Freeing a handle does not stop its torrent; freeing the session does. */
    bittern_torrent_handle_free(down);
    bittern_session_free(downloader);
    st.struct_size = sizeof st;
    CHECK_OK(bittern_torrent_handle_status(seed, &st));
    bittern_torrent_handle_free(seed);
    bittern_session_free(seeder);
    bittern_tracker_free(tracker);
}

/* ---- fetching a torrent by URL -------------------------------------------------------------- */

static void test_fetch(void)
{
    char dir[4096], data[4096], file[4096];
    path_of(dir, sizeof dir, "published");
    path_of(data, sizeof data, "small.bin");
    path_of(file, sizeof file, "published/small.torrent");
    CHECK(mkdir(dir, 0755) == 0);
    CHECK(write_file(data, "just a few bytes", 16));
    bittern_torrent *made = NULL;
    CHECK_OK(bittern_torrent_create(data, NULL, NULL, NULL, &made));
    CHECK_OK(bittern_torrent_save(made, file));

    bittern_tracker *tracker = start_tracker(dir);
    if (tracker == NULL || made == NULL) {
        bittern_torrent_free(made);
        bittern_tracker_free(tracker);
        return;
    }
    uint16_t port = bittern_tracker_port(tracker);
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/torrents/small.torrent", port);
    bittern_torrent *fetched = NULL;
    CHECK_OK(bittern_torrent_fetch(url, 10000, &fetched));
    uint8_t a[20], b[20];
    CHECK_OK(bittern_torrent_info_hash(made, a));
    CHECK(fetched != NULL && bittern_torrent_info_hash(fetched, b) == BITTERN_RESULT_OK &&
          memcmp(a, b, 20) == 0);
    bittern_torrent_free(fetched);

    snprintf(url, sizeof url, "http://127.0.0.1:%u/torrents/missing.torrent", port);
    fetched = NULL;
    CHECK_RESULT(bittern_torrent_fetch(url, 10000, &fetched), BITTERN_RESULT_NETWORK);
    CHECK(fetched == NULL);
    {
        /* The message names the fetch and its URL, not a tracker. */
        char said[512], expected[512];
        snprintf(expected, sizeof expected, "cannot fetch the torrent file %s: HTTP 404 Not Found",
                 url);
        CHECK(bittern_last_error_message(said, sizeof said) < sizeof said);
        CHECKF(strcmp(said, expected) == 0, "last error \"%s\", not \"%s\"", said, expected);
    }
    CHECK_RESULT(bittern_torrent_fetch(file, 0, &fetched), BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(bittern_torrent_fetch("ftp://example.invalid/x.torrent", 0, &fetched),
                 BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK(fetched == NULL);
    bittern_torrent_free(made);
    bittern_tracker_free(tracker);
}

/* A peer closing its end must not end the program: a session ignores SIGPIPE (if it was at
 * its default, as in a C program). */
static void test_sigpipe(void)
{
    struct sigaction before, after;
    CHECK(sigaction(SIGPIPE, NULL, &before) == 0 && before.sa_handler == SIG_DFL);
    bittern_session *s = start_session();
    CHECK(sigaction(SIGPIPE, NULL, &after) == 0 && after.sa_handler == SIG_IGN);
    bittern_session_free(s);
}

/* A port of 127.0.0.1 that nothing listens on: bound, read back, closed. 0 when none. */
static unsigned dead_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return 0;
    }
    struct sockaddr_in addr = {.sin_family = AF_INET};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof addr;
    unsigned port = 0;
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) == 0 &&
        getsockname(fd, (struct sockaddr *)&addr, &size) == 0) {
        port = ntohs(addr.sin_port);
    }
    close(fd);
    return port;
}

/* A torrent of a small file TEMP/trackers/NAME, with `tracker` as its only tracker (none when
 * NULL). */
static bittern_torrent *tracker_torrent(const char *name, const char *tracker)
{
    char dir[4096], relative[64], data[4096];
    path_of(dir, sizeof dir, "trackers");
    mkdir(dir, 0755);
    snprintf(relative, sizeof relative, "trackers/%s", name);
    path_of(data, sizeof data, relative);
    FILE *f = fopen(data, "wb");
    CHECK(f != NULL);
    if (f == NULL) {
        return NULL;
    }
    for (int i = 0; i < 40000; i++) {
        fputc(i * 7 + (int)strlen(name), f);
    }
    fclose(f);
    bittern_create_options *create = NULL;
    CHECK_OK(bittern_create_options_new(&create));
    if (tracker != NULL) {
        CHECK_OK(bittern_create_options_add_tracker(create, tracker, 0));
    }
    CHECK_OK(bittern_create_options_set_piece_length(create, PIECE_LEN));
    bittern_torrent *torrent = NULL;
    CHECK_OK(bittern_torrent_create(data, create, NULL, NULL, &torrent));
    bittern_create_options_free(create);
    return torrent;
}

/* Whether the failure message of tracker `index` is 0 long and written as "". */
static int tracker_message_is_blank(const bittern_torrent_handle *h, size_t index)
{
    char message[8] = "stale";
    return bittern_torrent_handle_tracker_message(h, index, message, sizeof message) == 0 &&
           message[0] == '\0';
}

/* Issue 9: the state of each tracker URL, read through the handle. */
static void test_trackers(void)
{
    unsigned port = dead_port();
    CHECK(port != 0);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/announce", port);
    bittern_torrent *dead = tracker_torrent("dead.bin", url);
    bittern_torrent *none = tracker_torrent("none.bin", NULL);
    if (dead == NULL || none == NULL) {
        bittern_torrent_free(dead);
        bittern_torrent_free(none);
        return;
    }
    char out_dir[4096];
    path_of(out_dir, sizeof out_dir, "trackers-out");
    bittern_session *s = start_session();
    bittern_torrent_handle *h = NULL;
    CHECK_OK(bittern_session_add(s, dead, out_dir, NULL, &h));
    bittern_torrent_handle *bare = NULL;
    CHECK_OK(bittern_session_add(s, none, out_dir, NULL, &bare));
    if (h == NULL || bare == NULL) {
        bittern_torrent_handle_free(h);
        bittern_torrent_handle_free(bare);
        bittern_session_free(s);
        bittern_torrent_free(dead);
        bittern_torrent_free(none);
        return;
    }

    size_t count = 99;
    CHECK_OK(bittern_torrent_handle_tracker_count(h, &count));
    CHECK(count == 1);
    const char *got = bittern_torrent_handle_tracker_url(h, 0);
    CHECKF(got != NULL && strcmp(got, url) == 0, "url %s", got ? got : "(null)");
    /* The same string each time: owned by the handle. */
    CHECK(bittern_torrent_handle_tracker_url(h, 0) == got);
    uint32_t tier = 99;
    CHECK_OK(bittern_torrent_handle_tracker_tier(h, 0, &tier));
    CHECK(tier == 0);

    /* Nothing listens there: the first announce fails soon (generous under valgrind). */
    bittern_tracker_state state = BITTERN_TRACKER_STATE_NOT_TRIED;
    double deadline = now_s() + 30;
    while (now_s() < deadline) {
        CHECK_OK(bittern_torrent_handle_tracker_state(h, 0, &state));
        if (state == BITTERN_TRACKER_STATE_FAILING) {
            break;
        }
        nanosleep(&(struct timespec){.tv_nsec = 50 * 1000 * 1000}, NULL);
    }
    CHECKF(state == BITTERN_TRACKER_STATE_FAILING, "state %d", (int)state);
    size_t need = bittern_torrent_handle_tracker_message(h, 0, NULL, 0);
    CHECK(need > 0);
    char message[1024];
    memset(message, 'x', sizeof message);
    CHECK(bittern_torrent_handle_tracker_message(h, 0, message, sizeof message) == need);
    CHECKF(strlen(message) == need || need >= sizeof message, "message %s", message);
    char tiny[4];
    CHECK(bittern_torrent_handle_tracker_message(h, 0, tiny, sizeof tiny) == need);
    CHECK(strlen(tiny) < sizeof tiny);
    uint32_t peers = 99, failures = 0;
    CHECK_OK(bittern_torrent_handle_tracker_peers(h, 0, &peers));
    CHECK(peers == 0);
    CHECK_OK(bittern_torrent_handle_tracker_failures(h, 0, &failures));
    CHECK(failures >= 1);

    /* Index 1: not found, naming the count, and nothing written. */
    state = BITTERN_TRACKER_STATE_WORKING;
    CHECK_RESULT(bittern_torrent_handle_tracker_state(h, 1, &state), BITTERN_RESULT_NOT_FOUND);
    CHECK_LAST_ERROR_HAS("has 1");
    CHECK(state == BITTERN_TRACKER_STATE_WORKING);
    peers = 99;
    CHECK_RESULT(bittern_torrent_handle_tracker_peers(h, 1, &peers), BITTERN_RESULT_NOT_FOUND);
    CHECK(peers == 99);
    CHECK_RESULT(bittern_torrent_handle_tracker_tier(h, 1, &tier), BITTERN_RESULT_NOT_FOUND);
    CHECK_RESULT(bittern_torrent_handle_tracker_failures(h, 1, &failures),
                 BITTERN_RESULT_NOT_FOUND);
    CHECK(bittern_torrent_handle_tracker_url(h, 1) == NULL);
    CHECK_LAST_ERROR_HAS("no tracker 1");
    CHECK(tracker_message_is_blank(h, 1));

    /* NULL arguments. */
    CHECK_RESULT(bittern_torrent_handle_tracker_count(NULL, &count),
                 BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_torrent_handle_tracker_count(h, NULL), BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_torrent_handle_tracker_state(NULL, 0, &state),
                 BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_torrent_handle_tracker_state(h, 0, NULL), BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_torrent_handle_tracker_peers(NULL, 0, &peers),
                 BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_torrent_handle_tracker_peers(h, 0, NULL), BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_torrent_handle_tracker_tier(h, 0, NULL), BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_torrent_handle_tracker_failures(h, 0, NULL),
                 BITTERN_RESULT_NULL_PARAMETER);
    CHECK(bittern_torrent_handle_tracker_url(NULL, 0) == NULL);
    CHECK_LAST_ERROR_HAS("handle");
    CHECK(tracker_message_is_blank(NULL, 0));

    /* A torrent that names no tracker has none. */
    count = 99;
    CHECK_OK(bittern_torrent_handle_tracker_count(bare, &count));
    CHECK(count == 0);
    CHECK_RESULT(bittern_torrent_handle_tracker_state(bare, 0, &state), BITTERN_RESULT_NOT_FOUND);
    CHECK_LAST_ERROR_HAS("has 0");

    bittern_torrent_handle_free(bare);
    bittern_session_free(s);
    /* The handle outlives its session, and so does the URL it handed out. */
    CHECK(strcmp(got, url) == 0);
    bittern_torrent_handle_free(h);
    bittern_torrent_free(dead);
    bittern_torrent_free(none);
}

/* ---- magnet links ---------------------------------------------------------------------------- */

static int is_fetching_metadata(const bittern_torrent_status *st)
{
    return st->state == BITTERN_TORRENT_STATE_FETCHING_METADATA;
}

/* A seeder of a torrent made here, and downloaders that know only its magnet link: the
 * metadata comes from the seeder (BEP 9), then the data. */
static void test_magnet(void)
{
    char seed_dir[4096], data[4096], down_dir[4096], down_data[4096], down2_dir[4096];
    char down2_data[4096];
    path_of(seed_dir, sizeof seed_dir, "mseed");
    path_of(data, sizeof data, "mseed/magnet.bin");
    path_of(down_dir, sizeof down_dir, "mdown");
    path_of(down_data, sizeof down_data, "mdown/magnet.bin");
    path_of(down2_dir, sizeof down2_dir, "mdown2");
    path_of(down2_data, sizeof down2_data, "mdown2/magnet.bin");
    CHECK(mkdir(seed_dir, 0755) == 0);
    size_t len = 200 * 1024 + 77;
    unsigned char *bytes = malloc(len);
    uint32_t x = 777;
    for (size_t i = 0; bytes != NULL && i < len; i++) {
        x = x * 1103515245u + 12345u;
        bytes[i] = (unsigned char)(x >> 16);
    }
    CHECK(bytes != NULL && write_file(data, bytes, len));
    free(bytes);

    bittern_create_options *create = NULL;
    CHECK_OK(bittern_create_options_new(&create));
    CHECK_OK(bittern_create_options_set_piece_length(create, PIECE_LEN));
    bittern_torrent *torrent = NULL;
    CHECK_OK(bittern_torrent_create(data, create, NULL, NULL, &torrent));
    bittern_create_options_free(create);
    if (torrent == NULL) {
        return;
    }
    uint8_t hash[20];
    CHECK_OK(bittern_torrent_info_hash(torrent, hash));
    uint32_t pieces = (uint32_t)bittern_torrent_piece_count(torrent);
    char link[2048];
    CHECK(bittern_torrent_magnet(torrent, link, sizeof link) < sizeof link);
    CHECKF(strncmp(link, "magnet:?xt=urn:btih:", 20) == 0, "%s", link);

    bittern_session *seeder = start_session();
    bittern_add_options *seed_only = NULL;
    CHECK_OK(bittern_add_options_new(&seed_only));
    CHECK_OK(bittern_add_options_set_seed_only(seed_only, true));
    bittern_torrent_handle *seed = NULL;
    CHECK_OK(bittern_session_add(seeder, torrent, seed_dir, seed_only, &seed));
    bittern_add_options_free(seed_only);
    bool finished = false;
    CHECK_OK(bittern_torrent_handle_wait(seed, 10000, &finished));
    CHECKF(finished, "the seeder's data checks complete");
    /* A torrent added as a torrent has its metainfo from the start. */
    bittern_torrent *copy = NULL;
    CHECK_OK(bittern_torrent_handle_metainfo(seed, &copy));
    uint8_t copy_hash[20] = {0};
    CHECK(copy != NULL && bittern_torrent_info_hash(copy, copy_hash) == BITTERN_RESULT_OK &&
          memcmp(copy_hash, hash, 20) == 0);
    bittern_torrent_free(copy);
    char seeder_addr[64];
    snprintf(seeder_addr, sizeof seeder_addr, "127.0.0.1:%u",
             bittern_session_listen_port(seeder));

    bittern_session *downloader = start_session();
    /* Malformed links: refused, saying why; nothing written to the handle. */
    bittern_torrent_handle *h = NULL;
    CHECK_RESULT(bittern_session_add_magnet(downloader, "http://not/a/magnet", down_dir, NULL, &h),
                 BITTERN_RESULT_INVALID_ARGUMENT);
    char message[512];
    CHECK(bittern_last_error_message(message, sizeof message) > 0);
    CHECK_RESULT(bittern_session_add_magnet(downloader, "magnet:?xt=urn:btih:1234", down_dir, NULL,
                                            &h),
                 BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK(bittern_last_error_message(message, sizeof message) > 0);
    CHECK(h == NULL);
    CHECK_RESULT(bittern_session_add_magnet(downloader, link, NULL, NULL, &h),
                 BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_session_add_magnet(downloader, NULL, down_dir, NULL, &h),
                 BITTERN_RESULT_NULL_PARAMETER);

    /* The link names no peer: the torrent waits in FETCHING_METADATA, its metainfo not in. */
    CHECK_OK(bittern_session_add_magnet(downloader, link, down_dir, NULL, &h));
    if (h == NULL) {
        goto out;
    }
    uint8_t handle_hash[20];
    CHECK_OK(bittern_torrent_handle_info_hash(h, handle_hash));
    CHECK(memcmp(handle_hash, hash, 20) == 0);
    bittern_torrent_status st;
    memset(&st, 0, sizeof st);
    CHECK(wait_for_status(h, &st, is_fetching_metadata));
    CHECK(st.piece_count == 0 && st.total_length == 0);
    bittern_torrent *meta = NULL;
    CHECK_RESULT(bittern_torrent_handle_metainfo(h, &meta), BITTERN_RESULT_NOT_FOUND);
    CHECK_LAST_ERROR_HAS("not in yet");
    CHECK(meta == NULL);
    /* Twice: refused, as for a torrent. */
    bittern_torrent_handle *twice = NULL;
    CHECK_RESULT(bittern_session_add_magnet(downloader, link, down_dir, NULL, &twice),
                 BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK(twice == NULL);

    /* Then the seeder: the metadata, then every piece. */
    CHECK_OK(bittern_session_add_peer(downloader, h, seeder_addr));
    int fetching = 0, received = 0, verified = 0, done = 0, in_order = 1;
    double deadline = now_s() + 60;
    while (!done && now_s() < deadline) {
        bittern_event *ev = NULL;
        bittern_result r = bittern_session_poll_event(downloader, 1000, &ev);
        if (r == BITTERN_RESULT_NOT_FOUND) {
            continue;
        }
        CHECK_OK(r);
        if (ev == NULL) {
            break;
        }
        CHECK(event_is_about(ev, hash));
        switch (bittern_event_get_kind(ev)) {
        case BITTERN_EVENT_KIND_FETCHING_METADATA:
            fetching++;
            in_order &= received == 0;
            CHECK(bittern_event_message(ev) == NULL);
            break;
        case BITTERN_EVENT_KIND_METADATA_RECEIVED:
            received++;
            in_order &= fetching == 1 && verified == 0;
            break;
        case BITTERN_EVENT_KIND_PIECE_VERIFIED:
            verified++;
            in_order &= received == 1;
            break;
        case BITTERN_EVENT_KIND_FINISHED:
            done = 1;
            break;
        default:
            printf("note: event %s: %s\n", bittern_event_kind_name(bittern_event_get_kind(ev)),
                   bittern_event_message(ev) ? bittern_event_message(ev) : "");
            break;
        }
        bittern_event_free(ev);
    }
    CHECK(done);
    CHECKF(fetching == 1 && received == 1 && in_order,
           "%d FETCHING_METADATA and %d METADATA_RECEIVED events, in order: %d", fetching,
           received, in_order);
    CHECKF((uint32_t)verified == pieces, "%d PIECE_VERIFIED events for %" PRIu32 " pieces",
           verified, pieces);
    CHECK(strcmp(bittern_event_kind_name(BITTERN_EVENT_KIND_METADATA_RECEIVED),
                 "BITTERN_EVENT_KIND_METADATA_RECEIVED") == 0);
    CHECK(wait_for_status(h, &st, is_seeding));
    CHECK(st.piece_count == pieces && st.total_length == len);
    CHECK(same_file(data, down_data));
    /* The metainfo now: the original's info-hash, name and length; the caller's own. */
    CHECK_OK(bittern_torrent_handle_metainfo(h, &meta));
    if (meta != NULL) {
        uint8_t meta_hash[20] = {0};
        CHECK_OK(bittern_torrent_info_hash(meta, meta_hash));
        CHECK(memcmp(meta_hash, hash, 20) == 0);
        CHECK(strcmp(bittern_torrent_name(meta), "magnet.bin") == 0);
        CHECK(bittern_torrent_total_length(meta) == len);
        CHECK(bittern_torrent_piece_count(meta) == pieces);
    }
    CHECK_RESULT(bittern_torrent_handle_metainfo(h, NULL), BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_torrent_handle_metainfo(NULL, &meta), BITTERN_RESULT_NULL_PARAMETER);
    bittern_torrent_handle_free(h);
    bittern_session_free(downloader);
    /* It outlives the handle and the session. */
    CHECK(meta == NULL || bittern_torrent_piece_count(meta) == pieces);
    bittern_torrent_free(meta);

    /* A parsed link that names the seeder (`x.pe`): no other peer needed. */
    {
        char with_peer[2200];
        snprintf(with_peer, sizeof with_peer, "%s&x.pe=%s", link, seeder_addr);
        bittern_magnet *magnet = NULL;
        CHECK_OK(bittern_magnet_parse(with_peer, &magnet));
        downloader = start_session();
        h = NULL;
        CHECK_OK(bittern_session_add_magnet_link(downloader, magnet, down2_dir, NULL, &h));
        CHECK_RESULT(bittern_session_add_magnet_link(downloader, magnet, down2_dir, NULL, &twice),
                     BITTERN_RESULT_INVALID_ARGUMENT);
        CHECK_LAST_ERROR_HAS("added already");
        /* The session keeps its own copy of the link. */
        bittern_magnet_free(magnet);
        finished = false;
        CHECK_OK(bittern_torrent_handle_wait(h, WAIT_MS, &finished));
        CHECK(finished);
        CHECK(same_file(data, down2_data));
        bittern_torrent_handle_free(h);
        bittern_session_free(downloader);
    }
    h = NULL;
    downloader = NULL;

out:
    bittern_torrent_handle_free(h);
    bittern_session_free(downloader);
    bittern_torrent_handle_free(seed);
    bittern_session_free(seeder);
    bittern_torrent_free(torrent);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s TEMP_DIR\n", argv[0]);
        return 2;
    }
    temp = argv[1];
    test_sigpipe();
    test_null_arguments();
    test_config();
    test_polling_threads();
    test_fetch();
    test_trackers();
    test_swarm();
    test_magnet();
    return finish("test_session");
}
