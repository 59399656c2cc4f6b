// The header from C++: it must compile cleanly and link (extern "C") without any wrapper.
#include <bittern.h>

#include <cstdio>
#include <cstring>
#include <string>

int main()
{
    int passed = 0, failed = 0;
    auto check = [&](bool ok, const char *what) {
        if (ok) {
            passed++;
        } else {
            failed++;
            std::printf("FAIL test_cpp.cpp: %s\n", what);
        }
    };

    const std::string expected = std::to_string(BITTERN_VERSION_MAJOR) + "." +
                                 std::to_string(BITTERN_VERSION_MINOR) + "." +
                                 std::to_string(BITTERN_VERSION_PATCH);
    check(expected == bittern_version(), "bittern_version() matches the macros");

    const char input[] = "d3:cow3:moo4:spam4:eggse";
    bittern_bencode *doc = nullptr;
    check(bittern_bencode_decode(reinterpret_cast<const uint8_t *>(input), sizeof input - 1, true,
                                 &doc) == BITTERN_RESULT_OK,
          "decode");
    size_t value = 0;
    const uint8_t *bytes = nullptr;
    size_t len = 0;
    check(bittern_bencode_dict_get(doc, 0, reinterpret_cast<const uint8_t *>("spam"), 4, &value) ==
                  BITTERN_RESULT_OK &&
              bittern_bencode_node_bytes(doc, value, &bytes, &len) == BITTERN_RESULT_OK &&
              len == 4 && std::memcmp(bytes, "eggs", 4) == 0,
          "dict lookup");
    bittern_bencode_free(doc);

    bittern_torrent *t = nullptr;
    check(bittern_torrent_load(nullptr, &t) == BITTERN_RESULT_NULL_PARAMETER && t == nullptr,
          "NULL path");
    check(std::strcmp(bittern_result_name(BITTERN_RESULT_NULL_PARAMETER),
                      "BITTERN_RESULT_NULL_PARAMETER") == 0,
          "result name");
    bittern_torrent_free(nullptr);

    std::printf("c++: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
