// libFuzzer's entry (QUANTSCOPE_FUZZ=ON): a qs::Error is a clean rejection; any other exception
// escapes, terminates and is reported as a crash with the input.
#include "FuzzTarget.h"
#include "util/Error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    try {
        qs::fuzz::target().one(data, size);
    } catch (const qs::Error&) {
    }
    return 0;
}
