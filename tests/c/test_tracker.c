/* The tracker through the C interface: a server on a loopback port, announces and scrapes from
 * the blocking client, stats, the log, refusals, dead trackers and NULL arguments; and the
 * library's diagnostics (bittern_log_set_level) switched on and off.
 *
 * Usage: test_tracker TEMP_DIR */
#define _POSIX_C_SOURCE 200809L

#include "check.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *temp;

/* Short deadlines: every tracker here is on loopback. */
#define TIMEOUT_MS 5000

/* Info-hashes (20 bytes; the arrays keep the strings' NULs). */
static const uint8_t HASH_A[21] = "abcdefghij0123456789";
static const uint8_t HASH_UNKNOWN[21] = "nobody-announced-it!";

/* What memset(0xab) leaves in a uint64_t: a field the library did not write. */
#define UNTOUCHED UINT64_C(0xabababababababab)

static int str_is(const char *got, const char *want)
{
    return got != NULL && strcmp(got, want) == 0;
}

/* A tracker on 127.0.0.1 (a port picked by the system) with a small interval. */
static bittern_tracker *start_tracker(const char *torrents_dir, bool allow_only)
{
    bittern_tracker_config *config = NULL;
    CHECK_OK(bittern_tracker_config_new(&config));
    CHECK_OK(bittern_tracker_config_set_bind(config, "127.0.0.1:0"));
    CHECK_OK(bittern_tracker_config_set_interval(config, 60));
    CHECK_OK(bittern_tracker_config_set_min_interval(config, 10));
    CHECK_OK(bittern_tracker_config_set_threads(config, 2));
    CHECK_OK(bittern_tracker_config_set_idle_timeout_ms(config, 3000));
    CHECK_OK(bittern_tracker_config_set_max_connections(config, 64));
    CHECK_OK(bittern_tracker_config_set_torrents_dir(config, torrents_dir));
    CHECK_OK(bittern_tracker_config_set_allow_only(config, allow_only));
    bittern_tracker *tracker = NULL;
    CHECK_OK(bittern_tracker_start(config, &tracker));
    bittern_tracker_config_free(config);
    return tracker;
}

/* A port nothing listens on: that of a tracker just stopped. */
static uint16_t closed_port(void)
{
    bittern_tracker *t = start_tracker(NULL, false);
    uint16_t port = bittern_tracker_port(t);
    bittern_tracker_free(t);
    return port;
}

static bittern_announce_options *options(uint16_t port, uint64_t left)
{
    bittern_announce_options *o = NULL;
    CHECK_OK(bittern_announce_options_new(&o));
    CHECK_OK(bittern_announce_options_set_port(o, port));
    CHECK_OK(bittern_announce_options_set_left(o, left));
    CHECK_OK(bittern_announce_options_set_timeout_ms(o, TIMEOUT_MS));
    return o;
}

/* A file in the temp folder and a torrent of it announcing to `tracker_url` (NULL: none). */
static bittern_torrent *make_torrent(const char *name, const char *tracker_url,
                                     const char *backup_url)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", temp, name);
    char data[5000];
    for (size_t i = 0; i < sizeof data; i++) {
        data[i] = (char)(name[0] + i * 7);
    }
    CHECKF(write_file(path, data, sizeof data), "cannot write %s", path);
    bittern_create_options *opts = NULL;
    CHECK_OK(bittern_create_options_new(&opts));
    if (tracker_url != NULL) {
        CHECK_OK(bittern_create_options_add_tracker(opts, tracker_url, 0));
    }
    if (backup_url != NULL) {
        CHECK_OK(bittern_create_options_add_tracker(opts, backup_url, 1));
    }
    bittern_torrent *t = NULL;
    CHECK_OK(bittern_torrent_create(path, opts, NULL, NULL, &t));
    bittern_create_options_free(opts);
    return t;
}

/* The size of the file at `path`, or -1. */
static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* The diagnostics, with stderr sent to a file meanwhile: off by default, so starting and
 * stopping a tracker writes nothing; at debug level it writes lines; off again, nothing more. */
static void test_log(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/stderr.log", temp);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(saved >= 0 && fd >= 0);
    if (saved < 0 || fd < 0)
        return;
    CHECK(dup2(fd, STDERR_FILENO) == STDERR_FILENO);
    close(fd);

    bittern_tracker_free(start_tracker(NULL, false));
    long by_default = file_size(path);
    CHECK_OK(bittern_log_set_level(BITTERN_LOG_LEVEL_DEBUG));
    CHECK_OK(bittern_log_set_level(BITTERN_LOG_LEVEL_DEBUG)); /* again: changes nothing */
    bittern_tracker_free(start_tracker(NULL, false));
    long when_on = file_size(path);
    CHECK_OK(bittern_log_set_level(BITTERN_LOG_LEVEL_OFF));
    bittern_tracker_free(start_tracker(NULL, false));
    long when_off = file_size(path);
    CHECK_OK(bittern_log_set_level(BITTERN_LOG_LEVEL_TRACE));
    CHECK_OK(bittern_log_set_level(BITTERN_LOG_LEVEL_ERROR));
    CHECK_OK(bittern_log_set_level(BITTERN_LOG_LEVEL_OFF));

    fflush(stderr);
    CHECK(dup2(saved, STDERR_FILENO) == STDERR_FILENO);
    close(saved);

    char text[4096] = "";
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    if (f != NULL) {
        size_t n = fread(text, 1, sizeof text - 1, f);
        text[n] = '\0';
        fclose(f);
    }
    CHECKF(by_default == 0, "the default wrote %ld bytes to stderr: %s", by_default, text);
    CHECKF(strstr(text, "tracker listening") != NULL && strstr(text, "tracker stopped") != NULL,
           "debug level wrote: %s", text);
    CHECKF(when_off == when_on, "off again, it still wrote: %s",
           when_on >= 0 && when_on < (long)sizeof text ? text + when_on : text);
}

static void test_server(void)
{
    bittern_tracker *t = start_tracker(NULL, false);
    if (t == NULL) {
        return;
    }
    uint16_t port = bittern_tracker_port(t);
    CHECK(port != 0);
    char want[64];
    snprintf(want, sizeof want, "http://127.0.0.1:%u/announce", port);
    CHECKF(str_is(bittern_tracker_url(t), want), "url %s", bittern_tracker_url(t));
    /* UDP (BEP 15) on the same port by default. */
    CHECK(bittern_tracker_udp_port(t) == port);
    snprintf(want, sizeof want, "udp://127.0.0.1:%u/announce", port);
    CHECKF(str_is(bittern_tracker_udp_url(t), want), "udp url %s", bittern_tracker_udp_url(t));

    bittern_tracker_stats stats;
    memset(&stats, 0xff, sizeof stats);
    stats.struct_size = sizeof stats;
    CHECK_OK(bittern_tracker_get_stats(t, &stats));
    CHECK(stats.struct_size == sizeof stats);
    CHECK(stats.torrents == 0 && stats.peers == 0 && stats.announces == 0);
    CHECK(stats.scrapes == 0 && stats.refused == 0 && stats.downloaded == 0);
    CHECK(stats.connections == 0);
    CHECK(stats.udp_connects == 0 && stats.udp_announces == 0 && stats.udp_scrapes == 0);
    CHECK(stats.udp_errors == 0 && stats.udp_dropped == 0);

    /* The same port again: taken. */
    bittern_tracker_config *config = NULL;
    CHECK_OK(bittern_tracker_config_new(&config));
    char bind[64];
    snprintf(bind, sizeof bind, "127.0.0.1:%u", port);
    CHECK_OK(bittern_tracker_config_set_bind(config, bind));
    CHECK_OK(bittern_tracker_config_set_threads(config, 1));
    bittern_tracker *again = NULL;
    CHECK_RESULT(bittern_tracker_start(config, &again), BITTERN_RESULT_IO);
    CHECK(again == NULL);
    CHECK_LAST_ERROR_HAS(bind);

    /* Bad settings. */
    CHECK_RESULT(bittern_tracker_config_set_bind(config, "nonsense"),
                 BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(bittern_tracker_config_set_bind(config, "127.0.0.1:99999"),
                 BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(bittern_tracker_config_set_bind(config, "127.0.0.1"),
                 BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK_OK(bittern_tracker_config_set_bind(config, "[::1]:0"));
    CHECK_OK(bittern_tracker_config_set_bind(config, "127.0.0.1:0"));
    CHECK_OK(bittern_tracker_config_set_allow_only(config, true));
    CHECK_RESULT(bittern_tracker_start(config, &again), BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK_LAST_ERROR_HAS("allow-only");
    CHECK_OK(bittern_tracker_config_set_allow_only(config, false));
    CHECK_OK(bittern_tracker_config_set_max_connections(config, 0));
    CHECK_RESULT(bittern_tracker_start(config, &again), BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK_LAST_ERROR_HAS("connections");
    CHECK_OK(bittern_tracker_config_set_max_connections(config, 16));
    CHECK_OK(bittern_tracker_config_set_allow_only(config, true));
    char missing[4096];
    snprintf(missing, sizeof missing, "%s/no-such-folder", temp);
    CHECK_OK(bittern_tracker_config_set_torrents_dir(config, missing));
    CHECK_RESULT(bittern_tracker_start(config, &again), BITTERN_RESULT_IO);
    CHECK_LAST_ERROR_HAS("no-such-folder");
    CHECK(again == NULL);
    /* Every other setter. */
    CHECK_OK(bittern_tracker_config_set_trust_ip_param(config, true));
    CHECK_OK(bittern_tracker_config_set_public_stats(config, true));
    CHECK_OK(bittern_tracker_config_set_max_torrents(config, 10));
    CHECK_OK(bittern_tracker_config_set_max_peers_per_torrent(config, 10));
    CHECK_OK(bittern_tracker_config_set_default_numwant(config, 5));
    CHECK_OK(bittern_tracker_config_set_max_numwant(config, 10));
    CHECK_OK(bittern_tracker_config_set_max_scrape(config, 4));
    /* UDP moved, then off. */
    CHECK_RESULT(bittern_tracker_config_set_udp_bind(config, "nonsense"),
                 BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK_OK(bittern_tracker_config_set_udp_bind(config, "127.0.0.1:0"));
    CHECK_OK(bittern_tracker_config_set_udp_bind(config, NULL));
    CHECK_OK(bittern_tracker_config_set_torrents_dir(config, NULL));
    CHECK_OK(bittern_tracker_config_set_allow_only(config, false));
    CHECK_OK(bittern_tracker_config_set_udp(config, false));
    CHECK_OK(bittern_tracker_start(config, &again));
    CHECK(bittern_tracker_udp_url(again) == NULL && bittern_tracker_udp_port(again) == 0);
    bittern_tracker_free(again);
    bittern_tracker_config_free(config);
    bittern_tracker_free(t);
}

static void test_announces(void)
{
    bittern_tracker *t = start_tracker(NULL, false);
    if (t == NULL) {
        return;
    }
    const char *url = bittern_tracker_url(t);
    bittern_announce_options *a = options(6001, 1000);
    bittern_announce_options *b = options(6002, 1000);
    CHECK_OK(bittern_announce_options_set_event(a, BITTERN_ANNOUNCE_EVENT_STARTED));
    CHECK_OK(bittern_announce_options_set_numwant(a, 30));
    CHECK_OK(bittern_announce_options_set_uploaded(a, 10));
    CHECK_OK(bittern_announce_options_set_downloaded(a, 20));
    const uint8_t id_b[21] = "-XX0001-bbbbbbbbbbbb";
    CHECK_OK(bittern_announce_options_set_peer_id(b, id_b));
    uint8_t id[20];
    CHECK_OK(bittern_announce_options_peer_id(b, id));
    CHECK(memcmp(id, id_b, 20) == 0);
    CHECK_OK(bittern_announce_options_peer_id(a, id));
    CHECKF(memcmp(id, "-BI0100-", 8) == 0, "default peer id %.20s", (char *)id);

    /* The first peer of a swarm gets nobody. */
    bittern_announce_response *r = NULL;
    CHECK_OK(bittern_announce_url(url, HASH_A, a, &r));
    CHECK(str_is(bittern_announce_response_url(r), url));
    CHECK(bittern_announce_response_interval(r) == 60);
    uint32_t min_interval = 0;
    CHECK_OK(bittern_announce_response_min_interval(r, &min_interval));
    CHECK(min_interval == 10);
    uint64_t complete = 99, incomplete = 99;
    CHECK_OK(bittern_announce_response_complete(r, &complete));
    CHECK_OK(bittern_announce_response_incomplete(r, &incomplete));
    CHECK(complete == 0 && incomplete == 1);
    CHECK(bittern_announce_response_peer_count(r) == 0);
    CHECK(bittern_announce_response_warning(r) == NULL);
    bittern_announce_response_free(r);

    /* The second gets the first, and never itself. */
    r = NULL;
    CHECK_OK(bittern_announce_url(url, HASH_A, b, &r));
    CHECK(bittern_announce_response_peer_count(r) == 1);
    char ip[BITTERN_IP_STRING_SIZE];
    uint16_t port = 0;
    CHECK_OK(bittern_announce_response_peer_get(r, 0, ip, &port));
    CHECKF(str_is(ip, "127.0.0.1") && port == 6001, "peer %s:%u", ip, port);
    CHECK_RESULT(bittern_announce_response_peer_get(r, 1, ip, &port),
                 BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK_OK(bittern_announce_response_incomplete(r, &incomplete));
    CHECK(incomplete == 2);
    bittern_announce_response_free(r);

    /* And the first, announcing again, gets the second. */
    r = NULL;
    CHECK_OK(bittern_announce_options_set_event(a, BITTERN_ANNOUNCE_EVENT_NONE));
    CHECK_OK(bittern_announce_url(url, HASH_A, a, &r));
    CHECK(bittern_announce_response_peer_count(r) == 1);
    port = 0;
    CHECK_OK(bittern_announce_response_peer_get(r, 0, ip, &port));
    CHECKF(str_is(ip, "127.0.0.1") && port == 6002, "peer %s:%u", ip, port);
    bittern_announce_response_free(r);

    /* Scrapes by URL. */
    bittern_scrape_stats s;
    memset(&s, 0xff, sizeof s);
    s.struct_size = sizeof s;
    CHECK_OK(bittern_scrape_url(url, HASH_A, TIMEOUT_MS, &s));
    CHECK(s.struct_size == sizeof s);
    CHECKF(s.complete == 0 && s.incomplete == 2 && s.downloaded == 0,
           "scrape %" PRIu64 " %" PRIu64 " %" PRIu64, s.complete, s.incomplete, s.downloaded);
    CHECK_RESULT(bittern_scrape_url(url, HASH_UNKNOWN, TIMEOUT_MS, &s),
                 BITTERN_RESULT_NOT_FOUND);
    /* A smaller struct: only `complete` fits. */
    memset(&s, 0xab, sizeof s);
    s.struct_size = offsetof(bittern_scrape_stats, downloaded);
    CHECK_OK(bittern_scrape_url(url, HASH_A, 0, &s));
    CHECK(s.struct_size == offsetof(bittern_scrape_stats, downloaded));
    CHECK(s.complete == 0 && s.downloaded == UNTOUCHED &&
          s.incomplete == UNTOUCHED);

    /* B leaves. */
    r = NULL;
    CHECK_OK(bittern_announce_options_set_event(b, BITTERN_ANNOUNCE_EVENT_STOPPED));
    CHECK_OK(bittern_announce_url(url, HASH_A, b, &r));
    CHECK(bittern_announce_response_peer_count(r) == 0);
    bittern_announce_response_free(r);

    bittern_tracker_stats stats;
    stats.struct_size = sizeof stats;
    CHECK_OK(bittern_tracker_get_stats(t, &stats));
    CHECKF(stats.torrents == 1 && stats.peers == 1 && stats.leechers == 1 &&
               stats.seeders == 0 && stats.announces == 4 && stats.scrapes == 3,
           "torrents %" PRIu64 " peers %" PRIu64 " announces %" PRIu64 " scrapes %" PRIu64,
           stats.torrents, stats.peers, stats.announces, stats.scrapes);

    /* A smaller stats struct is written only up to its size. */
    bittern_tracker_stats small;
    memset(&small, 0xab, sizeof small);
    small.struct_size = offsetof(bittern_tracker_stats, seeders);
    CHECK_OK(bittern_tracker_get_stats(t, &small));
    CHECK(small.struct_size == offsetof(bittern_tracker_stats, seeders));
    CHECK(small.torrents == 1 && small.peers == 1);
    CHECK(small.seeders == UNTOUCHED && small.connections == UNTOUCHED);
    /* Half a field is not written, and struct_size tells where the written ones end. */
    memset(&small, 0xab, sizeof small);
    small.struct_size = offsetof(bittern_tracker_stats, seeders) + 4;
    CHECK_OK(bittern_tracker_get_stats(t, &small));
    CHECK(small.struct_size == offsetof(bittern_tracker_stats, seeders));
    CHECK(small.peers == 1 && small.seeders == UNTOUCHED);
    small.struct_size = 0;
    CHECK_RESULT(bittern_tracker_get_stats(t, &small), BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK(small.struct_size == 0);

    /* The log: listening, the new torrent; then nothing. */
    int lines = 0, listening = 0, new_torrent = 0;
    char *line = NULL;
    bittern_result got;
    while ((got = bittern_tracker_next_log_line(t, &line)) == BITTERN_RESULT_OK) {
        lines++;
        listening += strstr(line, "listening on http://127.0.0.1:") != NULL;
        new_torrent += strstr(line, "new torrent") != NULL;
        bittern_string_free(line);
        line = NULL;
    }
    CHECK(got == BITTERN_RESULT_NOT_FOUND);
    CHECKF(lines >= 2 && listening == 1 && new_torrent == 1, "%d lines", lines);
    CHECK_RESULT(bittern_tracker_next_log_line(t, &line), BITTERN_RESULT_NOT_FOUND);
    CHECK(line == NULL);
    bittern_string_free(NULL);

    bittern_announce_options_free(a);
    bittern_announce_options_free(b);
    bittern_tracker_free(t);
}

static void test_torrent_announce(void)
{
    bittern_tracker *t = start_tracker(NULL, false);
    if (t == NULL) {
        return;
    }
    const char *url = bittern_tracker_url(t);
    bittern_torrent *torrent = make_torrent("one.bin", url, NULL);

    /* Defaults: left is the torrent's length, so a leecher. */
    bittern_announce_response *r = NULL;
    CHECK_OK(bittern_announce_torrent(torrent, NULL, &r));
    CHECK(str_is(bittern_announce_response_url(r), url));
    uint64_t complete = 9, incomplete = 9;
    CHECK_OK(bittern_announce_response_complete(r, &complete));
    CHECK_OK(bittern_announce_response_incomplete(r, &incomplete));
    CHECK(complete == 0 && incomplete == 1);
    bittern_announce_response_free(r);

    /* The same peer (default port) completes. */
    bittern_announce_options *o = options(6881, 0);
    CHECK_OK(bittern_announce_options_set_event(o, BITTERN_ANNOUNCE_EVENT_COMPLETED));
    r = NULL;
    CHECK_OK(bittern_announce_torrent(torrent, o, &r));
    CHECK_OK(bittern_announce_response_complete(r, &complete));
    CHECK_OK(bittern_announce_response_incomplete(r, &incomplete));
    CHECK(complete == 1 && incomplete == 0);
    bittern_announce_response_free(r);

    bittern_scrape_stats s;
    s.struct_size = sizeof s;
    CHECK_OK(bittern_scrape_torrent(torrent, TIMEOUT_MS, &s));
    CHECKF(s.complete == 1 && s.incomplete == 0 && s.downloaded == 1,
           "scrape %" PRIu64 " %" PRIu64 " %" PRIu64, s.complete, s.incomplete, s.downloaded);

    /* Port 0 cannot be connected to: refused by the rule every face shares, nothing sent. */
    bittern_announce_options *zero = options(0, 0);
    r = NULL;
    CHECK_RESULT(bittern_announce_torrent(torrent, zero, &r), BITTERN_RESULT_INVALID_ARGUMENT);
    CHECK_LAST_ERROR_HAS("port");
    CHECK(r == NULL);
    bittern_announce_options_free(zero);

    /* A torrent nobody announced: the tracker answers, but does not know it. */
    bittern_torrent *other = make_torrent("two.bin", url, NULL);
    CHECK_RESULT(bittern_scrape_torrent(other, TIMEOUT_MS, &s), BITTERN_RESULT_NOT_FOUND);
    bittern_torrent_free(other);

    /* Fail-over: a dead first tier, then the live tracker. */
    CHECK_OK(bittern_announce_options_set_event(o, BITTERN_ANNOUNCE_EVENT_NONE));
    char dead[128];
    snprintf(dead, sizeof dead, "http://127.0.0.1:%u/announce", closed_port());
    bittern_torrent *tiers = make_torrent("three.bin", dead, url);
    r = NULL;
    CHECK_OK(bittern_announce_torrent(tiers, o, &r));
    CHECK(str_is(bittern_announce_response_url(r), url));
    bittern_announce_response_free(r);
    CHECK_OK(bittern_scrape_torrent(tiers, TIMEOUT_MS, &s));
    CHECK(s.complete == 1);
    bittern_torrent_free(tiers);

    /* No tracker at all. */
    bittern_torrent *lonely = make_torrent("four.bin", NULL, NULL);
    r = NULL;
    CHECK_RESULT(bittern_announce_torrent(lonely, o, &r), BITTERN_RESULT_TRACKER);
    CHECK(r == NULL);
    CHECK_LAST_ERROR_HAS("no tracker");
    CHECK_RESULT(bittern_scrape_torrent(lonely, TIMEOUT_MS, &s), BITTERN_RESULT_TRACKER);
    bittern_torrent_free(lonely);

    bittern_tracker_stats stats;
    stats.struct_size = sizeof stats;
    CHECK_OK(bittern_tracker_get_stats(t, &stats));
    CHECKF(stats.torrents == 2 && stats.seeders == 2 && stats.downloaded == 1,
           "torrents %" PRIu64 " seeders %" PRIu64 " downloaded %" PRIu64, stats.torrents,
           stats.seeders, stats.downloaded);

    bittern_announce_options_free(o);
    bittern_torrent_free(torrent);
    bittern_tracker_free(t);
}

static void test_refused(void)
{
    /* A tracker that tracks only the torrents of its folder. */
    char dir[2048], path[4096];
    snprintf(dir, sizeof dir, "%s/registered", temp);
    CHECK(mkdir(dir, 0700) == 0);
    bittern_torrent *known = make_torrent("known.bin", "http://placeholder.invalid/announce",
                                          NULL);
    snprintf(path, sizeof path, "%s/known.torrent", dir);
    CHECK_OK(bittern_torrent_save(known, path));
    snprintf(path, sizeof path, "%s/broken.torrent", dir);
    CHECK(write_file(path, "not bencode", 11));

    bittern_tracker *t = start_tracker(dir, true);
    if (t == NULL) {
        bittern_torrent_free(known);
        return;
    }
    const char *url = bittern_tracker_url(t);
    CHECK_OK(bittern_torrent_set_announce(known, url));
    bittern_torrent *stranger = make_torrent("stranger.bin", url, NULL);

    bittern_announce_options *o = options(7000, 100);
    bittern_announce_response *r = NULL;
    CHECK_RESULT(bittern_announce_torrent(stranger, o, &r), BITTERN_RESULT_TRACKER);
    CHECK(r == NULL);
    CHECK_LAST_ERROR_HAS("unregistered");
    CHECK_OK(bittern_announce_torrent(known, o, &r));
    bittern_announce_response_free(r);

    bittern_tracker_stats stats;
    stats.struct_size = sizeof stats;
    CHECK_OK(bittern_tracker_get_stats(t, &stats));
    CHECK(stats.refused == 1 && stats.torrents == 1);

    int skipped = 0, refused = 0;
    char *line = NULL;
    while (bittern_tracker_next_log_line(t, &line) == BITTERN_RESULT_OK) {
        skipped += strstr(line, "broken.torrent") != NULL;
        refused += strstr(line, "unregistered") != NULL;
        bittern_string_free(line);
    }
    CHECK(skipped == 1 && refused == 1);

    bittern_announce_options_free(o);
    bittern_torrent_free(stranger);
    bittern_torrent_free(known);
    bittern_tracker_free(t);
}

/* GET `path` from the tracker on 127.0.0.1:`port` into `buf` (NUL-terminated, the whole
 * reply: head and body); returns the number of bytes read, or -1. */
static long http_get(uint16_t port, const char *path, char *buf, size_t len)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return -1;
    }
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    long got = -1;
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0) {
        char request[1024];
        int n = snprintf(request, sizeof request,
                         "GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", path);
        if (write(fd, request, (size_t)n) == n) {
            got = 0;
            ssize_t r;
            while ((size_t)got + 1 < len && (r = read(fd, buf + got, len - 1 - (size_t)got)) > 0) {
                got += r;
            }
            buf[got] = '\0';
        }
    }
    close(fd);
    return got;
}

/* A torrent published from code into a running tracker: tracked under allow-only, listed on
 * the index page, served; and withdrawn again. */
static void test_publish(void)
{
    char dir[2048];
    snprintf(dir, sizeof dir, "%s/publish-empty", temp);
    CHECK(mkdir(dir, 0700) == 0);
    bittern_tracker *t = start_tracker(dir, true);
    if (t == NULL) {
        return;
    }
    bittern_torrent *torrent = make_torrent("published.bin", bittern_tracker_url(t), NULL);
    bittern_announce_options *o = options(7000, 100);
    bittern_announce_response *r = NULL;
    CHECK_RESULT(bittern_announce_torrent(torrent, o, &r), BITTERN_RESULT_TRACKER);
    CHECK_LAST_ERROR_HAS("unregistered");

    CHECK_OK(bittern_tracker_publish(t, torrent));
    CHECK_OK(bittern_announce_torrent(torrent, o, &r));
    bittern_announce_response_free(r);
    r = NULL;

    static char reply[1 << 16];
    CHECK(http_get(bittern_tracker_port(t), "/", reply, sizeof reply) > 0);
    CHECKF(strstr(reply, "href=\"/torrents/published.bin.torrent\"") != NULL, "index: %s",
           reply);
    CHECK(http_get(bittern_tracker_port(t), "/torrents/published.bin.torrent", reply,
                   sizeof reply) > 0);
    CHECK(strncmp(reply, "HTTP/1.1 200", 12) == 0);
    CHECK(strstr(reply, "application/x-bittorrent") != NULL);

    uint8_t hash[20];
    CHECK_OK(bittern_torrent_info_hash(torrent, hash));
    CHECK_OK(bittern_tracker_unpublish(t, hash));
    CHECK_RESULT(bittern_tracker_unpublish(t, hash), BITTERN_RESULT_NOT_FOUND);
    CHECK(http_get(bittern_tracker_port(t), "/torrents/published.bin.torrent", reply,
                   sizeof reply) > 0);
    CHECK(strncmp(reply, "HTTP/1.1 404", 12) == 0);
    CHECK_RESULT(bittern_announce_torrent(torrent, o, &r), BITTERN_RESULT_TRACKER);

    CHECK_RESULT(bittern_tracker_publish(NULL, torrent), BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_tracker_publish(t, NULL), BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_tracker_unpublish(NULL, hash), BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_tracker_unpublish(t, NULL), BITTERN_RESULT_NULL_PARAMETER);

    bittern_announce_options_free(o);
    bittern_torrent_free(torrent);
    bittern_tracker_free(t);
}

static void test_dead_trackers(void)
{
    bittern_announce_options *o = options(6881, 1);
    bittern_announce_response *r = NULL;
    bittern_scrape_stats s;
    s.struct_size = sizeof s;

    /* Nothing listens: refused at once. */
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/announce", closed_port());
    CHECK_RESULT(bittern_announce_url(url, HASH_A, o, &r), BITTERN_RESULT_TRACKER);
    CHECK(r == NULL);
    CHECK_RESULT(bittern_scrape_url(url, HASH_A, 2000, &s), BITTERN_RESULT_TRACKER);

    /* Not an HTTP tracker, or not a URL. */
    CHECK_RESULT(bittern_announce_url("udp://127.0.0.1:1/announce", HASH_A, o, &r),
                 BITTERN_RESULT_TRACKER);
    CHECK_RESULT(bittern_announce_url("not a url", HASH_A, o, &r), BITTERN_RESULT_TRACKER);
    CHECK_RESULT(bittern_scrape_url("http://127.0.0.1:1/no-scrape-here", HASH_A, 2000, &s),
                 BITTERN_RESULT_TRACKER);

    /* Accepts (the kernel does, into the backlog) and never answers: a timeout. */
    int sock = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    CHECK(sock >= 0 && bind(sock, (struct sockaddr *)&addr, sizeof addr) == 0 &&
          listen(sock, 8) == 0 && getsockname(sock, (struct sockaddr *)&addr, &len) == 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%u/announce", ntohs(addr.sin_port));
    CHECK_OK(bittern_announce_options_set_timeout_ms(o, 300));
    CHECK_RESULT(bittern_announce_url(url, HASH_A, o, &r), BITTERN_RESULT_TIMEOUT);
    CHECK(r == NULL);
    CHECK_RESULT(bittern_scrape_url(url, HASH_A, 300, &s), BITTERN_RESULT_TIMEOUT);
    close(sock);

    bittern_announce_options_free(o);
}

/* Several threads announce at once and share the tracker's read-only calls and its log. */
#define THREADS 4

struct worker {
    bittern_tracker *tracker;
    uint16_t port;
    bittern_result announced;
    size_t peers;
    int new_torrent_lines;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    bittern_announce_options *o = NULL;
    bittern_announce_options_new(&o);
    bittern_announce_options_set_port(o, w->port);
    bittern_announce_options_set_left(o, 5);
    bittern_announce_options_set_timeout_ms(o, TIMEOUT_MS);
    bittern_announce_response *r = NULL;
    w->announced = bittern_announce_url(bittern_tracker_url(w->tracker), HASH_A, o, &r);
    w->peers = bittern_announce_response_peer_count(r);
    bittern_announce_response_free(r);
    bittern_announce_options_free(o);
    bittern_tracker_stats stats;
    stats.struct_size = sizeof stats;
    bittern_tracker_get_stats(w->tracker, &stats);
    char *line = NULL;
    while (bittern_tracker_next_log_line(w->tracker, &line) == BITTERN_RESULT_OK) {
        w->new_torrent_lines += strstr(line, "new torrent") != NULL;
        bittern_string_free(line);
    }
    return NULL;
}

static void test_threads(void)
{
    bittern_tracker *t = start_tracker(NULL, false);
    if (t == NULL) {
        return;
    }
    pthread_t threads[THREADS];
    struct worker workers[THREADS];
    for (int i = 0; i < THREADS; i++) {
        workers[i] = (struct worker){t, (uint16_t)(9000 + i), BITTERN_RESULT_PANIC, 0, 0};
        CHECK(pthread_create(&threads[i], NULL, work, &workers[i]) == 0);
    }
    int new_torrent_lines = 0;
    for (int i = 0; i < THREADS; i++) {
        CHECK(pthread_join(threads[i], NULL) == 0);
        CHECK(workers[i].announced == BITTERN_RESULT_OK);
        CHECK(workers[i].peers < THREADS);
        new_torrent_lines += workers[i].new_torrent_lines;
    }
    char *line = NULL;
    while (bittern_tracker_next_log_line(t, &line) == BITTERN_RESULT_OK) {
        new_torrent_lines += strstr(line, "new torrent") != NULL;
        bittern_string_free(line);
    }
    CHECK(new_torrent_lines == 1); /* each line went to exactly one caller */
    bittern_tracker_stats stats;
    stats.struct_size = sizeof stats;
    CHECK_OK(bittern_tracker_get_stats(t, &stats));
    CHECK(stats.peers == THREADS && stats.announces == THREADS);
    bittern_tracker_free(t);
}

static void test_null_arguments(void)
{
    bittern_tracker_free(NULL);
    bittern_tracker_config_free(NULL);
    bittern_announce_options_free(NULL);
    bittern_announce_response_free(NULL);

    bittern_tracker_config *config = NULL;
    bittern_tracker *t = NULL;
    bittern_tracker_stats stats;
    stats.struct_size = sizeof stats;
    char *line = NULL;
    CHECK_RESULT(bittern_tracker_config_new(NULL), BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_tracker_config_set_bind(NULL, "127.0.0.1:0"),
                 BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_tracker_config_set_interval(NULL, 5), BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_tracker_config_set_threads(NULL, 1), BITTERN_RESULT_NULL_PARAMETER);
    CHECK_OK(bittern_tracker_config_new(&config));
    CHECK_RESULT(bittern_tracker_config_set_bind(config, NULL), BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_tracker_start(config, NULL), BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_tracker_start(NULL, NULL), BITTERN_RESULT_NULL_PARAMETER);
    bittern_tracker_config_free(config);
    CHECK(bittern_tracker_url(NULL) == NULL);
    CHECK(bittern_tracker_port(NULL) == 0);
    CHECK_RESULT(bittern_tracker_get_stats(NULL, &stats), BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_tracker_next_log_line(NULL, &line), BITTERN_RESULT_NULL_PARAMETER);

    t = start_tracker(NULL, false);
    CHECK_RESULT(bittern_tracker_get_stats(t, NULL), BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_tracker_next_log_line(t, NULL), BITTERN_RESULT_NULL_PARAMETER);
    CHECK(line == NULL);

    const char *url = bittern_tracker_url(t);
    bittern_announce_options *o = NULL;
    bittern_announce_response *r = NULL;
    bittern_scrape_stats s;
    s.struct_size = sizeof s;
    uint8_t id[20];
    CHECK_RESULT(bittern_announce_options_new(NULL), BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_announce_options_set_port(NULL, 1), BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_announce_options_peer_id(NULL, id), BITTERN_RESULT_NULL_PARAMETER);
    CHECK_OK(bittern_announce_options_new(&o));
    CHECK_RESULT(bittern_announce_options_set_peer_id(o, NULL), BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_announce_options_peer_id(o, NULL), BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_announce_url(NULL, HASH_A, o, &r), BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_announce_url(url, NULL, o, &r), BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_announce_url(url, HASH_A, o, NULL), BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_announce_torrent(NULL, o, &r), BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_scrape_torrent(NULL, 0, &s), BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_scrape_url(url, HASH_A, 0, NULL), BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_scrape_url(NULL, HASH_A, 0, &s), BITTERN_RESULT_NULL_PARAMETER);
    CHECK(r == NULL);

    /* NULL options: the defaults (a seeder with this process's peer id). */
    CHECK_OK(bittern_announce_url(url, HASH_A, NULL, &r));
    CHECK(bittern_announce_response_url(NULL) == NULL);
    CHECK(bittern_announce_response_interval(NULL) == 0);
    CHECK(bittern_announce_response_peer_count(NULL) == 0);
    CHECK(bittern_announce_response_warning(NULL) == NULL);
    uint32_t min_interval;
    uint64_t count;
    char ip[BITTERN_IP_STRING_SIZE];
    uint16_t port;
    CHECK_RESULT(bittern_announce_response_min_interval(NULL, &min_interval),
                 BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_announce_response_min_interval(r, NULL),
                 BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_announce_response_complete(r, NULL), BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_announce_response_incomplete(NULL, &count),
                 BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_announce_response_peer_get(NULL, 0, ip, &port),
                 BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_announce_response_peer_get(r, 0, NULL, &port),
                 BITTERN_RESULT_NULL_PARAMETER);
    CHECK_RESULT(bittern_announce_response_peer_get(r, 0, ip, NULL),
                 BITTERN_RESULT_NULL_PARAMETER);
    CHECK_OK(bittern_announce_response_complete(r, &count));
    CHECK(count == 1);
    bittern_announce_response_free(r);

    bittern_announce_options_free(o);
    bittern_tracker_free(t);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s TEMP_DIR\n", argv[0]);
        return 2;
    }
    temp = argv[1];
    test_log(); /* first: it checks that the diagnostics are off by default */
    test_server();
    test_announces();
    test_torrent_announce();
    test_refused();
    test_publish();
    test_dead_trackers();
    test_threads();
    test_null_arguments();
    return finish("tracker");
}
