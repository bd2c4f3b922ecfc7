#include "train/LearnedRounding.h"

#include "train/FakeQuant.h"
#include "train/Optimizer.h"
#include "util/Error.h"

namespace qs {

LearnedRounding learnRowRounding(const std::vector<float>& row, const QuantizedTensor& nearest,
                                 const Eigen::MatrixXd& xtx, std::int64_t tokens, int steps,
                                 const JobContext& job)
{
    const auto n = std::int64_t(row.size());
    if (n == 0 || nearest.rows != 1 || nearest.cols != n || xtx.rows() != n || xtx.cols() != n || tokens <= 0)
        throw Error(
            QStringLiteral("learned rounding: the row (%1 values), its quantization (%2 × %3) and the "
                           "inputs' statistics (%4 × %5, %6 tokens) do not match")
                .arg(n)
                .arg(nearest.rows)
                .arg(nearest.cols)
                .arg(xtx.rows())
                .arg(xtx.cols())
                .arg(tokens));
    const FakeQuantGrid grid = FakeQuantGrid::of(nearest, QStringLiteral("the row"));
    const float* s = nearest.scales.data();
    const float* z = nearest.zeros.data();
    std::deque<TrainParam> params(1);
    TrainParam& v = params[0];
    v.name = QStringLiteral("rounding");
    v.kind = ParamKind::Rounding;
    v.rows = 1;
    v.cols = n;
    v.value.assign(std::size_t(n), 0.0f);
    v.grad.assign(std::size_t(n), 0.0f);
    OptimizerSettings settings;
    settings.signDescent[std::size_t(ParamKind::Rounding)] = true;
    settings.steps = std::max(1, steps);
    settings.learningRate = 1.0 / double(settings.steps);
    settings.clipNorm = 0;
    Optimizer opt(settings);

    std::vector<float> wq(static_cast<std::size_t>(n));
    Eigen::VectorXd e(n);
    // The output error of the current offsets, and dL/dŵ = 2·XᵀX·(ŵ − w) / tokens into `dwq`.
    const auto evaluate = [&](std::vector<float>* dwq) {
        fakeQuantForward(grid, row.data(), s, z, v.value.data(), wq.data());
        for (Eigen::Index i = 0; i < n; ++i)
            e(i) = double(wq[std::size_t(i)]) - double(row[std::size_t(i)]);
        const Eigen::VectorXd he = xtx * e;
        if (dwq)
            for (Eigen::Index i = 0; i < n; ++i)
                (*dwq)[std::size_t(i)] = float(2.0 * he(i) / double(tokens));
        return e.dot(he) / double(tokens);
    };
    LearnedRounding r;
    r.nearestCodes = fakeQuantCodes(grid, row.data(), s, z, nullptr);
    std::vector<float> dwq(static_cast<std::size_t>(n)), best = v.value;
    r.nearestError = evaluate(&dwq);
    r.curve.push_back(r.nearestError);
    double bestError = r.nearestError;
    // Each evaluation leaves the next step's gradient in dwq: one product XᵀX·e per step.
    for (int step = 0; step < settings.steps; ++step) {
        job.checkCancelled();
        std::fill(v.grad.begin(), v.grad.end(), 0.0f);
        fakeQuantBackward(grid, row.data(), s, z, v.value.data(), dwq.data(), nullptr, nullptr, nullptr,
                          v.grad.data());
        opt.step(params);
        for (float& x : v.value)
            x = std::clamp(x, -0.5f, 0.5f);
        const double err = evaluate(&dwq);
        r.curve.push_back(err);
        if (err < bestError) {
            bestError = err;
            best = v.value;
            r.bestStep = step + 1;
        }
    }
    r.codes = fakeQuantCodes(grid, row.data(), s, z, best.data());
    r.reconstructed.resize(std::size_t(n));
    fakeQuantForward(grid, row.data(), s, z, best.data(), r.reconstructed.data());
    r.learnedError = bestError;
    for (std::size_t i = 0; i < r.codes.size(); ++i) {
        r.roundedUp += r.codes[i] > r.nearestCodes[i];
        r.roundedDown += r.codes[i] < r.nearestCodes[i];
    }
    return r;
}

} // namespace qs
