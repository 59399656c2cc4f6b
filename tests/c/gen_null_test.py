#!/usr/bin/env python3
"""Generates the C program test_null.c from include/bittern.h: every exported function called
with NULL for each of its pointer parameters in turn (the others valid), then with NULL for all
of them at once; and each enum argument given a number that is none of its values (an error,
BITTERN_RESULT_INVALID_ARGUMENT or NULL).

    python3 tests/c/gen_null_test.py include/bittern.h [libbittern.so] > test_null.c

What each call must give follows the header's conventions: BITTERN_RESULT_NULL_PARAMETER (and a
last error naming the parameter) from a function returning a bittern_result; 0, false or NULL
from one returning a value; nothing from a `_free`. A parameter that may be NULL by design is
listed in NULL_OK below with the words of its documentation that say so, which the header must
hold. A function is covered the day it is added: a parameter or return type this script does not
know, a handle type without a fixture, or a symbol of the library missing from the header stops
it with an error (tests/c/run then fails) instead of skipping anything.
"""

import re
import subprocess
import sys


def die(message):
    sys.exit(f"gen_null_test.py: {message}")


# Parameters that may be NULL by design: (function, parameter) -> (words its documentation in the
# header must hold, what the call with it NULL must give). Expectations: "ok" (BITTERN_RESULT_OK),
# "done" (anything but NULL_PARAMETER or PANIC: the call goes on with a default and may fail on
# the network), "value" (a value-returning call: it must not crash).
NULL_OK = {
    ("bittern_last_error_message", "buf"): ("with `buf` NULL or `len` 0 nothing is written", "value"),
    ("bittern_last_error_path", "buf"): ("as `bittern_last_error_message` copies", "value"),
    ("bittern_torrent_handle_tracker_message", "buf"): ("as `bittern_last_error_message` copies", "value"),
    ("bittern_torrent_handle_error_message", "buf"): ("as `bittern_last_error_message` copies", "value"),
    ("bittern_magnet_to_string", "buf"): ("as `bittern_last_error_message` copies", "value"),
    ("bittern_torrent_magnet", "buf"): ("as `bittern_last_error_message` copies", "value"),
    ("bittern_announce_torrent", "options"): ("`options` may be NULL for the defaults", "done"),
    ("bittern_announce_url", "options"): ("`options` may be NULL for the defaults", "done"),
    ("bittern_create_options_set_name", "name"): ("NULL goes back to", "ok"),
    ("bittern_create_options_set_comment", "comment"): ("NULL leaves it out", "ok"),
    ("bittern_create_options_set_created_by", "created_by"): ("NULL leaves it out", "ok"),
    ("bittern_torrent_create", "options"): ("`options` may be NULL", "ok"),
    ("bittern_torrent_create", "progress"): ("`progress` may be NULL", "ok"),
    ("bittern_torrent_create", "user_data"): ("with `user_data`", "ok"),
    ("bittern_session_config_set_listen", "address"): ("NULL goes back to the default", "ok"),
    ("bittern_session_new", "config"): ("`config` (NULL for the defaults)", "done"),
    ("bittern_session_add", "options"): ("`options` may be NULL for the defaults", "done"),
    ("bittern_session_add_magnet", "options"): ("`options` may be NULL for the defaults", "done"),
    ("bittern_session_add_magnet_link", "options"): ("`options` may be NULL for the defaults", "done"),
    ("bittern_torrent_set_announce", "url"): ("NULL removes it", "ok"),
    ("bittern_torrent_set_comment", "comment"): ("NULL removes it", "ok"),
    ("bittern_torrent_set_created_by", "created_by"): ("NULL removes it", "ok"),
    ("bittern_tracker_config_set_torrents_dir", "path"): ("NULL for none", "ok"),
    ("bittern_tracker_config_set_udp_bind", "address"): ("NULL goes back to the default", "ok"),
    ("bittern_tracker_start", "config"): ("`config` (NULL for the defaults)", "done"),
}

SCALARS = {"bool", "size_t", "int32_t", "int64_t", "uint8_t", "uint16_t", "uint32_t", "uint64_t"}

# Valid values of non-pointer parameters, by name (else by type).
VALUE_BY_NAME = {
    "index": "0", "node": "0", "dict": "0", "list": "0", "tier": "0",
    "key_len": "4", "port": "0", "piece_length": "16384", "date": "0",
    "uploaded": "0", "downloaded": "0", "left": "0",
}

# Valid C strings, by parameter name; `path` depends on the function.
STRING_BY_NAME = {
    "address": '"127.0.0.1:0"',
    "host_port": '"127.0.0.1:1"',
    "url": '"http://127.0.0.1:1/announce"',
    "announce_url": '"http://127.0.0.1:1/announce"',
    "name": '"x"', "comment": '"x"', "created_by": '"x"',
    "save_dir": "tmp_dir",
    "link": '"magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a&tr=http://t/a&x.pe=10.0.0.1:1"',
}
PATH_BY_FUNCTION = {
    "bittern_torrent_load": "fx_torrent_path",
    "bittern_torrent_save": "fx_save_path",
    "bittern_torrent_create": "fx_data_path",
}


def parse(header):
    text = open(header).read()
    conventions = text[: text.index("*/")]
    m = re.search(r"Handles \(([^)]*)\)", conventions)
    if not m:
        die("the header's conventions no longer list the handle types")
    handles = [h.strip() for h in m.group(1).replace("\n", " ").replace("*", "").split(",")]
    # Every handle type says in its documentation what may run on several threads at once.
    for h in handles:
        m = re.search(r"/\*\*((?:[^*]|\*(?!/))*)\*/\s*typedef struct %s %s;" % (h, h), text)
        if not m or "Thread safety" not in m.group(1):
            die(f"the documentation of {h} does not say its thread safety")
    enums = set(re.findall(r"typedef enum \{[^}]*\} (\w+);", text))
    sized = set(re.findall(r"typedef struct \{\s*(?:/\*\*(?:[^*]|\*(?!/))*\*/\s*)?size_t struct_size;[^}]*\} (\w+);", text))
    callbacks = set(re.findall(r"typedef \w+ \(\*(\w+)\)", text))
    body = text[text.index('extern "C" {'):]
    functions = []
    for m in re.finditer(r"((?:/\*\*(?:[^*]|\*(?!/))*\*/\s*)?)^([a-z][^;{}#]*?\(([^;]*?)\));", body, re.M | re.S):
        doc, proto, args = m.group(1), " ".join(m.group(2).split()), " ".join(m.group(3).split())
        pm = re.match(r"(.*?)\b(bittern_\w+)\(", proto)
        if not pm:
            die(f"cannot read the prototype {proto!r}")
        ret, name = pm.group(1).strip(), pm.group(2)
        params = []
        if args != "void":
            for a in args.split(","):
                am = re.match(r"(.*?)(\w+)$", a.strip())
                if not am:
                    die(f"{name}: cannot read the parameter {a!r}")
                params.append((am.group(1).strip(), am.group(2)))
        functions.append((name, ret, params, " ".join(doc.split())))
    if len(functions) < 100:
        die(f"found only {len(functions)} functions in {header}")
    return handles, enums, sized, callbacks, functions


class Gen:
    def __init__(self, handles, enums, sized, callbacks):
        self.handles, self.enums, self.sized, self.callbacks = set(handles), enums, sized, callbacks

    def is_pointer(self, ty):
        return "*" in ty or ty in self.callbacks

    def base(self, ty):
        return ty.replace("const ", "").replace("*", "").strip()

    def valid(self, fn, params, i):
        """A valid C expression for parameter i of fn."""
        ty, name = params[i]
        b = self.base(ty)
        stars = ty.count("*")
        if ty in self.callbacks:
            return "progress_go_on"
        if not self.is_pointer(ty):
            if name in VALUE_BY_NAME:
                return VALUE_BY_NAME[name]
            if name == "len":
                prev = params[i - 1] if i else ("", "")
                if prev[1] == "data" and "const" in prev[0]:
                    return "fx_bytes_len"
                if prev[1] in ("buf", "data"):
                    return "sizeof scratch"
                die(f"{fn}: `len` after {prev[1]!r}: unknown pairing")
            if b in self.enums:
                return f"({b})0"
            if b == "bool":
                return "false"
            if b in SCALARS:
                return "1"
            die(f"{fn}: parameter {ty} {name} has a type the generator does not know")
        if name.endswith("_out"):
            if stars == 2 and b in self.handles:
                return f"({ty})(void *)scratch"
            if stars == 1 and b in self.sized:
                return f"&({b}){{.struct_size = sizeof({b})}}"
            if b in SCALARS or b in self.enums or b == "char" or (stars == 2 and b == "uint8_t"):
                return f"({ty})(void *)scratch"
            die(f"{fn}: output parameter {ty} {name} has a type the generator does not know")
        if stars == 1 and b in self.handles:
            if fn.endswith("_free"):
                return None  # never a live fixture: it would be freed
            return f"fx_{b[len('bittern_'):]}"
        if ty == "const char *":
            if name == "path":
                return PATH_BY_FUNCTION.get(fn, "tmp_dir")
            if name in STRING_BY_NAME:
                return STRING_BY_NAME[name]
            die(f"{fn}: string parameter {name} unknown to the generator")
        if ty == "char *" and name == "buf":
            return "(char *)scratch"
        if ty == "const uint8_t *":
            return {"data": "fx_bytes", "info_hash": "fx_hash", "peer_id": "fx_hash",
                    "key": "(const uint8_t *)\"info\""}.get(name) or die(
                f"{fn}: byte parameter {name} unknown to the generator")
        if ty == "void *" and name == "user_data":
            return "scratch"
        if fn.endswith("_free"):
            return None
        die(f"{fn}: pointer parameter {ty} {name} has a shape the generator does not know")

    def cleanup(self, params, args):
        """C statements that free what a successful call handed over."""
        out = []
        for (ty, name), arg in zip(params, args):
            b = self.base(ty)
            if name.endswith("_out") and ty.count("*") == 2 and b in self.handles and arg != "NULL":
                out.append(f"{b}_free(*({ty})(void *)scratch);")
            elif name.endswith("_out") and ty == "char **" and arg != "NULL":
                out.append("bittern_string_free(*(char **)(void *)scratch);")
        return " ".join(out)

    def call(self, fn, ret, params, nulls, doc):
        """One call with the parameters at `nulls` NULL; returns C lines."""
        args = []
        for i, (ty, name) in enumerate(params):
            if i in nulls:
                args.append("NULL")
            else:
                v = self.valid(fn, params, i)
                if v is None:
                    die(f"{fn}: cannot give a valid {name} to a `_free`")
                args.append(v)
        label = ", ".join("NULL" if i in nulls else n for i, (_, n) in enumerate(params))
        what = f'"{fn}({label})"'
        allowed = [params[i][1] for i in nulls if (fn, params[i][1]) in NULL_OK]
        required = [params[i][1] for i in nulls if (fn, params[i][1]) not in NULL_OK]
        invocation = f"{fn}({', '.join(args)})"
        lines = [f"    /* {what[1:-1]} */", "    {"]
        if ret == "void":
            if not fn.endswith("_free"):
                die(f"{fn}: a void function that is not a `_free`")
            lines += [f"        {invocation};", "        checks_passed++;"]
        elif ret == "bittern_result":
            lines.append(f"        bittern_result r = {invocation};")
            if required:
                names = " or ".join(f"`{n}`" for n in required)
                # The functions that read the last error leave it as it was (documented so).
                if "does not change the last error" in doc:
                    names = ""
                lines.append(f"        expect_null_parameter(r, {what}, {c_str(names)});")
            else:
                kinds = {NULL_OK[(fn, n)][1] for n in allowed}
                if kinds == {"ok"}:
                    lines.append(f"        CHECKF(r == BITTERN_RESULT_OK, \"%s gave %s\", {what}, bittern_result_name(r));")
                else:
                    lines.append(f"        CHECKF(r != BITTERN_RESULT_NULL_PARAMETER && r != BITTERN_RESULT_PANIC, \"%s gave %s\", {what}, bittern_result_name(r));")
                clean = self.cleanup(params, args)
                if clean:
                    lines.append(f"        if (r == BITTERN_RESULT_OK) {{ {clean} }}")
        else:
            if ret not in ("const char *", "bool") and ret not in SCALARS and ret not in self.enums:
                die(f"{fn}: return type {ret} unknown to the generator")
            lines.append(f"        {ret} v = {invocation};")
            if required:
                zero = "NULL" if ret == "const char *" else "0"
                lines.append(f"        CHECKF(v == {zero}, \"%s did not give 0/NULL/false\", {what});")
            else:
                lines += ["        (void)v;", "        checks_passed++;"]
        lines.append("    }")
        return lines

    def function(self, fn, ret, params, doc):
        pointers = [i for i, (ty, _) in enumerate(params) if self.is_pointer(ty)]
        for i in pointers:
            key = (fn, params[i][1])
            if key in NULL_OK and NULL_OK[key][0] not in doc:
                die(f"{fn}: `{params[i][1]}` may be NULL by NULL_OK, but its documentation does "
                    f"not say {NULL_OK[key][0]!r}")
        # Every parameter must have a known shape, even those only ever passed as NULL.
        if fn.endswith("_free"):
            if ret != "void" or not pointers or not (
                self.base(params[0][0]) in self.handles or fn in ("bittern_bytes_free", "bittern_string_free")):
                die(f"{fn}: a `_free` that does not take a handle")
        else:
            for i in range(len(params)):
                self.valid(fn, params, i)
        lines = [f"static void test_{fn}(void)", "{"]
        if not pointers:
            # Nothing to make NULL: called once with valid values, so a new one is at least run.
            lines += self.call(fn, ret, params, set(), doc)
        else:
            for i in pointers:
                lines += self.call(fn, ret, params, {i}, doc)
            if len(pointers) > 1:
                lines += self.call(fn, ret, params, set(pointers), doc)
        # An enum argument that names none of its values (a newer header's, or garbage): an
        # error, never undefined behaviour.
        for i, (ty, name) in enumerate(params):
            if not self.is_pointer(ty) and ty in self.enums:
                args = [self.valid(fn, params, j) if j != i else f"({ty})0x7fff"
                        for j in range(len(params))]
                what = f'"{fn}({name} = 0x7fff)"'
                lines += [f"    /* {what[1:-1]} */", "    {"]
                if ret == "bittern_result":
                    lines.append(f"        bittern_result r = {fn}({', '.join(args)});")
                    lines.append(f"        CHECKF(r == BITTERN_RESULT_INVALID_ARGUMENT, \"%s gave %s\", {what}, bittern_result_name(r));")
                elif ret == "const char *":
                    lines.append(f"        CHECKF({fn}({', '.join(args)}) == NULL, \"%s is not NULL\", {what});")
                else:
                    die(f"{fn}: an enum argument, and a return type the generator cannot check")
                lines.append("    }")
        lines.append("}")
        return lines


def c_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


PRELUDE = r'''/* Generated by tests/c/gen_null_test.py from include/bittern.h: do not edit.
 * Every exported function with NULL for each pointer parameter, then for all of them. */
#include "check.h"

#include <stdalign.h>
#include <stddef.h>

static alignas(max_align_t) unsigned char scratch[4096];
static char tmp_dir[1024], fx_data_path[1100], fx_torrent_path[1100], fx_save_path[1100];
static uint8_t *fx_bytes;
static size_t fx_bytes_len;
static uint8_t fx_hash[20];
static bittern_torrent *fx_torrent;
static bittern_bencode *fx_bencode;
static bittern_create_options *fx_create_options;
static bittern_tracker_config *fx_tracker_config;
static bittern_tracker *fx_tracker;
static bittern_announce_options *fx_announce_options;
static bittern_announce_response *fx_announce_response;
static bittern_session_config *fx_session_config;
static bittern_session *fx_session;
static bittern_add_options *fx_add_options;
static bittern_torrent_handle *fx_torrent_handle;
static bittern_event *fx_event;
static bittern_magnet *fx_magnet;

static bool progress_go_on(uint64_t done, uint64_t total, void *user_data)
{
    (void)done, (void)total, (void)user_data;
    return true;
}

/* A call that was given NULL for a parameter that must not be NULL. */
static void expect_null_parameter(bittern_result r, const char *what, const char *names)
{
    char message[512];
    bittern_last_error_message(message, sizeof message);
    CHECKF(r == BITTERN_RESULT_NULL_PARAMETER, "%s gave %s (%s)", what, bittern_result_name(r),
           message);
    /* The last error names the parameter: "`name` is NULL". */
    int named = *names == '\0';
    char name[128];
    const char *p = names;
    while (*p == '`') {
        const char *end = strchr(p + 1, '`');
        snprintf(name, sizeof name, "%.*s", (int)(end - p + 1), p);
        named |= strstr(message, name) != NULL;
        p = end + 1;
        if (strncmp(p, " or ", 4) == 0) {
            p += 4;
        }
    }
    CHECKF(named, "%s: the last error \"%s\" does not name %s", what, message, names);
}

#define SETUP(call) do { bittern_result setup_r = (call); if (setup_r != BITTERN_RESULT_OK) { \
    char m[512]; bittern_last_error_message(m, sizeof m); \
    printf("setup failed: %s: %s (%s)\n", #call, bittern_result_name(setup_r), m); exit(2); } } while (0)

static void setup(void)
{
    snprintf(fx_data_path, sizeof fx_data_path, "%s/data.bin", tmp_dir);
    snprintf(fx_torrent_path, sizeof fx_torrent_path, "%s/data.torrent", tmp_dir);
    snprintf(fx_save_path, sizeof fx_save_path, "%s/saved.torrent", tmp_dir);
    FILE *f = fopen(fx_data_path, "wb");
    if (f == NULL) {
        printf("setup failed: cannot write %s\n", fx_data_path);
        exit(2);
    }
    for (int i = 0; i < 40000; i++) {
        fputc(i * 7 % 251, f);
    }
    fclose(f);
    SETUP(bittern_create_options_new(&fx_create_options));
    SETUP(bittern_create_options_set_piece_length(fx_create_options, 16384));
    SETUP(bittern_torrent_create(fx_data_path, fx_create_options, NULL, NULL, &fx_torrent));
    SETUP(bittern_torrent_save(fx_torrent, fx_torrent_path));
    SETUP(bittern_torrent_info_hash(fx_torrent, fx_hash));
    fx_bytes = read_file(fx_torrent_path, &fx_bytes_len);
    if (fx_bytes == NULL) {
        printf("setup failed: cannot read %s\n", fx_torrent_path);
        exit(2);
    }
    SETUP(bittern_bencode_decode(fx_bytes, fx_bytes_len, true, &fx_bencode));
    SETUP(bittern_tracker_config_new(&fx_tracker_config));
    SETUP(bittern_tracker_config_set_bind(fx_tracker_config, "127.0.0.1:0"));
    SETUP(bittern_tracker_config_set_threads(fx_tracker_config, 1));
    SETUP(bittern_tracker_start(fx_tracker_config, &fx_tracker));
    SETUP(bittern_announce_options_new(&fx_announce_options));
    SETUP(bittern_announce_options_set_port(fx_announce_options, 6881));
    SETUP(bittern_announce_url(bittern_tracker_url(fx_tracker), fx_hash, fx_announce_options,
                               &fx_announce_response));
    SETUP(bittern_session_config_new(&fx_session_config));
    SETUP(bittern_session_config_set_listen(fx_session_config, "127.0.0.1:0"));
    SETUP(bittern_session_new(fx_session_config, &fx_session));
    SETUP(bittern_add_options_new(&fx_add_options));
    SETUP(bittern_session_add(fx_session, fx_torrent, tmp_dir, fx_add_options, &fx_torrent_handle));
    SETUP(bittern_session_poll_event(fx_session, 20000, &fx_event));
    SETUP(bittern_magnet_parse("magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a"
                               "&dn=x&tr=http://t/a&ws=http://w/x&x.pe=10.0.0.1:1", &fx_magnet));
}

static void teardown(void)
{
    bittern_magnet_free(fx_magnet);
    bittern_event_free(fx_event);
    bittern_torrent_handle_free(fx_torrent_handle);
    bittern_session_free(fx_session);
    bittern_add_options_free(fx_add_options);
    bittern_session_config_free(fx_session_config);
    bittern_announce_response_free(fx_announce_response);
    bittern_announce_options_free(fx_announce_options);
    bittern_tracker_free(fx_tracker);
    bittern_tracker_config_free(fx_tracker_config);
    bittern_bencode_free(fx_bencode);
    bittern_create_options_free(fx_create_options);
    bittern_torrent_free(fx_torrent);
    free(fx_bytes);
}
'''


def main():
    if len(sys.argv) not in (2, 3):
        die("usage: gen_null_test.py HEADER [LIBRARY.so]")
    handles, enums, sized, callbacks, functions = parse(sys.argv[1])
    names = {f[0] for f in functions}
    if len(sys.argv) == 3:
        nm = subprocess.run(["nm", "-D", "--defined-only", sys.argv[2]], capture_output=True,
                            text=True, check=True).stdout
        exported = set(re.findall(r" T (bittern_\w+)$", nm, re.M))
        missing = sorted(exported - names)
        if missing:
            die(f"exported by the library but not in the header: {', '.join(missing)}")
        absent = sorted(names - exported)
        if absent:
            die(f"in the header but not exported by the library: {', '.join(absent)}")
    known = [m for (fn, m) in NULL_OK if fn not in names]
    if known:
        die(f"NULL_OK names functions the header lacks: {known}")
    fixtures = set(re.findall(r"static (bittern_\w+) \*fx_", PRELUDE))
    for h in handles:
        if h not in fixtures:
            die(f"the handle type {h} has no fixture in the generator")
    g = Gen(handles, enums, sized, callbacks)
    out = [PRELUDE]
    for fn, ret, params, doc in functions:
        out += g.function(fn, ret, params, doc)
        out.append("")
    out += ["int main(int argc, char **argv)", "{",
            "    if (argc != 2) {",
            '        printf("usage: test_null TMPDIR\\n");',
            "        return 2;",
            "    }",
            '    snprintf(tmp_dir, sizeof tmp_dir, "%s", argv[1]);',
            "    setup();"]
    out += [f"    test_{fn}();" for fn, _, _, _ in functions]
    out += ["    teardown();", f'    printf("(%d functions)\\n", {len(functions)});',
            '    return finish("test_null");', "}"]
    print("\n".join(out))


if __name__ == "__main__":
    main()
