/* Many threads calling into one session at once (bittern_session, bittern_torrent_handle,
 * bittern_tracker and the last error are documented safe for that): 8 threads add, look at,
 * pause, resume, give peers to and remove torrents of one session, poll its events, and share
 * one handle, while each keeps its own last error; then 8 threads publish, withdraw and count
 * on one tracker. No call may panic or crash, and each result must be one the
 * documentation allows.
 *
 * Usage: test_threads TMPDIR */
#define _DEFAULT_SOURCE
#include "check.h"

#include <pthread.h>
#include <stdatomic.h>

#define THREADS 8
#define TORRENTS 4
#define ROUNDS 12

static char tmp[1024];
static bittern_session *session;
static bittern_torrent *torrents[TORRENTS];
static bittern_torrent_handle *shared;
static atomic_int failures;
static atomic_int added, refused;

#define EXPECT(cond, ...)                                                                        \
    do {                                                                                         \
        if (!(cond)) {                                                                           \
            atomic_fetch_add(&failures, 1);                                                      \
            printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                               \
            printf(__VA_ARGS__);                                                                 \
            printf("\n");                                                                        \
        }                                                                                        \
    } while (0)

static const char *name(bittern_result r)
{
    return bittern_result_name(r);
}

static bittern_tracker *tracker;

/* One tracker from every thread at once: publish, unpublish, counters, log lines. */
static void *tracker_worker(void *arg)
{
    int id = (int)(size_t)arg;
    for (int round = 0; round < ROUNDS; round++) {
        bittern_torrent *torrent = torrents[(id + round) % TORRENTS];
        bittern_result r = bittern_tracker_publish(tracker, torrent);
        EXPECT(r == BITTERN_RESULT_OK, "publish gave %s", name(r));
        bittern_tracker_stats stats = {.struct_size = sizeof stats};
        r = bittern_tracker_get_stats(tracker, &stats);
        EXPECT(r == BITTERN_RESULT_OK, "get_stats gave %s", name(r));
        char *line = NULL;
        r = bittern_tracker_next_log_line(tracker, &line);
        EXPECT(r == BITTERN_RESULT_OK || r == BITTERN_RESULT_NOT_FOUND, "next_log_line gave %s",
               name(r));
        bittern_string_free(line);
        uint8_t hash[20];
        r = bittern_torrent_info_hash(torrent, hash);
        EXPECT(r == BITTERN_RESULT_OK, "info_hash gave %s", name(r));
        /* Another thread may have withdrawn it already. */
        r = bittern_tracker_unpublish(tracker, hash);
        EXPECT(r == BITTERN_RESULT_OK || r == BITTERN_RESULT_NOT_FOUND, "unpublish gave %s",
               name(r));
        EXPECT(bittern_tracker_url(tracker) != NULL && bittern_tracker_port(tracker) != 0,
               "url and port");
    }
    return NULL;
}

static void *worker(void *arg)
{
    int id = (int)(size_t)arg;
    char dir[1200], missing[1200], message[1500];
    for (int round = 0; round < ROUNDS; round++) {
        bittern_torrent *torrent = torrents[(id + round) % TORRENTS];
        snprintf(dir, sizeof dir, "%s/t%d", tmp, (id + round) % TORRENTS);
        bittern_torrent_handle *handle = NULL;
        bittern_result r = bittern_session_add(session, torrent, dir, NULL, &handle);
        /* Another thread may have this torrent in the session right now. */
        EXPECT(r == BITTERN_RESULT_OK || r == BITTERN_RESULT_INVALID_ARGUMENT, "add gave %s",
               name(r));
        if (r == BITTERN_RESULT_OK) {
            atomic_fetch_add(&added, 1);
            bittern_torrent_status status = {.struct_size = sizeof status};
            r = bittern_torrent_handle_status(handle, &status);
            EXPECT(r == BITTERN_RESULT_OK, "status gave %s", name(r));
            r = bittern_torrent_handle_pause(handle);
            EXPECT(r == BITTERN_RESULT_OK, "pause gave %s", name(r));
            r = bittern_session_add_peer(session, handle, "127.0.0.1:1");
            EXPECT(r == BITTERN_RESULT_OK, "add_peer gave %s", name(r));
            r = bittern_torrent_handle_resume(handle);
            EXPECT(r == BITTERN_RESULT_OK, "resume gave %s", name(r));
            bool done = false;
            r = bittern_torrent_handle_wait_checked(handle, 1, &done);
            EXPECT(r == BITTERN_RESULT_OK, "wait_checked gave %s", name(r));
            size_t count = 9;
            r = bittern_torrent_handle_tracker_count(handle, &count);
            EXPECT(r == BITTERN_RESULT_OK && count == 0, "tracker_count gave %s", name(r));
            r = bittern_session_remove(session, handle);
            EXPECT(r == BITTERN_RESULT_OK, "remove gave %s", name(r));
            /* Removed: the handle lives on, and its torrent is no longer in the session. */
            r = bittern_torrent_handle_status(handle, &status);
            EXPECT(r == BITTERN_RESULT_OK, "status after remove gave %s", name(r));
            r = bittern_session_remove(session, handle);
            EXPECT(r == BITTERN_RESULT_INVALID_ARGUMENT, "remove twice gave %s", name(r));
            bittern_torrent_handle_free(handle);
        } else {
            atomic_fetch_add(&refused, 1);
        }
        /* The shared handle, from every thread at once. */
        bittern_torrent_status status = {.struct_size = sizeof status};
        r = bittern_torrent_handle_status(shared, &status);
        EXPECT(r == BITTERN_RESULT_OK, "shared status gave %s", name(r));
        r = round % 2 ? bittern_torrent_handle_pause(shared) : bittern_torrent_handle_resume(shared);
        EXPECT(r == BITTERN_RESULT_OK, "shared pause/resume gave %s", name(r));
        uint8_t hash[20];
        r = bittern_torrent_handle_info_hash(shared, hash);
        EXPECT(r == BITTERN_RESULT_OK, "shared info_hash gave %s", name(r));
        /* Events: whoever polls takes one; none in time is NOT_FOUND. */
        bittern_event *event = NULL;
        r = bittern_session_poll_event(session, round % 3, &event);
        EXPECT(r == BITTERN_RESULT_OK || r == BITTERN_RESULT_NOT_FOUND, "poll gave %s", name(r));
        if (r == BITTERN_RESULT_OK) {
            EXPECT(bittern_event_kind_name(bittern_event_get_kind(event)) != NULL, "kind");
            bittern_event_free(event);
        }
        EXPECT(bittern_session_listen_port(session) != 0, "listen port");
        /* This thread's last error is its own. */
        snprintf(missing, sizeof missing, "%s/missing-%d-%d.torrent", tmp, id, round);
        bittern_torrent *t = NULL;
        r = bittern_torrent_load(missing, &t);
        EXPECT(r == BITTERN_RESULT_IO, "load gave %s", name(r));
        bittern_last_error_path(message, sizeof message);
        EXPECT(strcmp(message, missing) == 0, "thread %d read another's last error: %s", id,
               message);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        printf("usage: test_threads TMPDIR\n");
        return 2;
    }
    snprintf(tmp, sizeof tmp, "%s", argv[1]);
    bittern_session_config *config = NULL;
    CHECK_OK(bittern_session_config_new(&config));
    CHECK_OK(bittern_session_config_set_listen(config, "127.0.0.1:0"));
    CHECK_OK(bittern_session_new(config, &session));
    bittern_session_config_free(config);
    if (session == NULL) {
        return finish("test_threads");
    }
    bittern_create_options *options = NULL;
    CHECK_OK(bittern_create_options_new(&options));
    for (int i = 0; i <= TORRENTS; i++) {
        char path[1200];
        snprintf(path, sizeof path, "%s/data%d.bin", tmp, i);
        FILE *f = fopen(path, "wb");
        for (int j = 0; f != NULL && j < 40000; j++) {
            fputc((j * (i + 3)) % 256, f);
        }
        if (f != NULL) {
            fclose(f);
        }
        bittern_torrent *t = NULL;
        CHECK_OK(bittern_torrent_create(path, options, NULL, NULL, &t));
        if (i < TORRENTS) {
            torrents[i] = t;
        } else {
            char dir[1200];
            snprintf(dir, sizeof dir, "%s/shared", tmp);
            CHECK_OK(bittern_session_add(session, t, dir, NULL, &shared));
            bittern_torrent_free(t);
        }
    }
    bittern_create_options_free(options);
    pthread_t threads[THREADS];
    for (size_t i = 0; i < THREADS; i++) {
        CHECK(pthread_create(&threads[i], NULL, worker, (void *)i) == 0);
    }
    for (size_t i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
    }
    bittern_tracker_config *tc = NULL;
    CHECK_OK(bittern_tracker_config_new(&tc));
    CHECK_OK(bittern_tracker_config_set_bind(tc, "127.0.0.1:0"));
    CHECK_OK(bittern_tracker_config_set_threads(tc, 2));
    CHECK_OK(bittern_tracker_start(tc, &tracker));
    bittern_tracker_config_free(tc);
    if (tracker != NULL) {
        for (size_t i = 0; i < THREADS; i++) {
            CHECK(pthread_create(&threads[i], NULL, tracker_worker, (void *)i) == 0);
        }
        for (size_t i = 0; i < THREADS; i++) {
            pthread_join(threads[i], NULL);
        }
        bittern_tracker_free(tracker);
    }
    CHECKF(atomic_load(&failures) == 0, "%d failures in the threads", atomic_load(&failures));
    CHECKF(atomic_load(&added) + atomic_load(&refused) == THREADS * ROUNDS, "%d added, %d refused",
           atomic_load(&added), atomic_load(&refused));
    CHECK(atomic_load(&added) >= TORRENTS);
    bittern_torrent_handle_free(shared);
    bittern_session_free(session);
    for (int i = 0; i < TORRENTS; i++) {
        bittern_torrent_free(torrents[i]);
    }
    return finish("test_threads");
}
