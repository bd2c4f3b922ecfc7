// The gguf method: llama.cpp's ggml block formats as a quantizer, so a layer plan can hold GGUF
// types next to the other methods and be measured, swept and exported the same way.
#include "eval/Calibration.h"
#include "kernels/GgmlQuants.h"
#include "quant/Quantizer.h"
#include "util/Error.h"
#include "util/Threads.h"

namespace qs {

namespace {

class GgmlQuantizer final : public Quantizer
{
public:
    QuantizedTensor quantize(const QuantizeRequest& r, const JobContext&) const override
    {
        const GgmlTypeInfo& type = ggmlTypeInfo(r.spec.ggmlType);
        if (r.cols % type.blockSize != 0)
            throw Error(
                QStringLiteral("%1: GGUF %2 stores rows in blocks of %3 values; rows of %4 values do not fit")
                    .arg(r.layerName, QLatin1String(type.name))
                    .arg(type.blockSize)
                    .arg(r.cols));
        // llama.cpp's imatrix: Σx² / tokens per input column (what llama-quantize hands the quantizer).
        std::vector<float> importance;
        if (r.spec.importance) {
            if (!r.stats || r.stats->tokens == 0 || std::int64_t(r.stats->sumSquares.size()) != r.cols)
                throw Error(r.layerName + QStringLiteral(": gguf with imatrix needs calibration statistics"));
            importance.resize(std::size_t(r.cols));
            const double n = double(r.stats->tokens);
            for (std::size_t j = 0; j < importance.size(); ++j)
                importance[j] = float(r.stats->sumSquares[j] / n);
        }
        QuantizedTensor t;
        t.spec = r.spec;
        t.rows = r.rows;
        t.cols = r.cols;
        t.ggmlData.resize(std::size_t(r.rows) * ggmlRowBytes(r.spec.ggmlType, r.cols));
        const float* imp = importance.empty() ? nullptr : importance.data();
        forEachRowRange(r.rows, r.cols, [&](std::int64_t first, std::int64_t count) {
            ggmlQuantizeChunk(r.spec.ggmlType, r.weight, t.ggmlData.data(), first, count, r.cols, imp);
        });
        return t;
    }
};

} // namespace

const Quantizer& ggmlQuantizer(); // registered in quantizerFor (RtnQuantizer.cpp)
const Quantizer& ggmlQuantizer()
{
    static const GgmlQuantizer q;
    return q;
}

} // namespace qs
