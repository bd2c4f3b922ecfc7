#pragma once

// Values for the session-family seeds (session, run store, sensitivity sweep): one of each part
// with its fields set, so the writers' JSON holds every key the readers look at.

#include "analysis/SensitivityResult.h"
#include "results/RunResults.h"
#include "session/Session.h"

namespace qs::fuzz {

inline RunSummary sampleRun(const QString& name, bool baseline)
{
    RunSummary r;
    r.name = name;
    r.method = baseline ? QStringLiteral("float") : QStringLiteral("rtn");
    r.recipeSummary = QStringLiteral("rtn int4 g128 asym");
    r.source = QStringLiteral("/runs/") + name;
    r.modelPath = QStringLiteral("/models/stories260K");
    r.fingerprint = QStringLiteral("abc123");
    r.params = 260000;
    r.isBaseline = baseline;
    r.bitsPerWeight = baseline ? 32 : 4.5;
    r.linearBitsPerWeight = baseline ? 32 : 4.25;
    r.modelBytes = 1040000;
    r.linearBytes = 500000;
    r.ppl = 8.5;
    r.pplError = 0.1;
    if (!baseline) {
        r.kldMean = 0.02;
        r.kldError = 0.001;
        r.top1Percent = 95;
        r.top1Error = 0.5;
        r.deltaPpl = 0.3;
        r.deltaPplError = 0.02;
        r.quantizeSeconds = 1.5;
    }
    LayerMetrics l;
    l.name = QStringLiteral("model.layers.0.self_attn.q_proj");
    l.kind = QStringLiteral("q_proj");
    l.block = 0;
    l.label = QStringLiteral("rtn int4 g128 asym");
    l.method = QStringLiteral("rtn");
    l.bitsPerWeight = 4.25;
    l.weightRelMse = 0.01;
    l.maxAbsError = 0.2;
    l.histogramMin = -0.2;
    l.histogramMax = 0.2;
    l.errorHistogram = {1, 5, 9, 5, 1};
    r.layers.push_back(l);
    return r;
}

inline SensitivityResult sampleSweep()
{
    SensitivityResult s;
    s.modelPath = QStringLiteral("/models/stories260K");
    s.modelName = QStringLiteral("stories260K");
    s.modelFingerprint = QStringLiteral("abc123");
    s.modelDtype = QStringLiteral("f32");
    s.linearParams = 200000;
    s.evalTextSha256 = QStringLiteral("00ff");
    s.evalTokens = 4096;
    s.basePpl = 8.5;
    s.baseNll = 2.14;
    QuantSpec spec;
    s.schemes.push_back({spec.shortName(), spec});
    s.units.push_back({QStringLiteral("model.layers.0.mlp.down_proj"), {6}, 4096});
    s.units.push_back({QStringLiteral("down_proj$"), {6, 13}, 8192});
    SensitivityEntry e;
    e.unit = s.units[0].name;
    e.scheme = s.schemes[0].name;
    e.bytes = 2300;
    e.bitsPerWeight = 4.5;
    e.ppl = 8.7;
    e.deltaNll = 0.02;
    e.kld = 0.01;
    e.top1 = 97;
    e.weightRelMse = 0.01;
    e.hessianError = 0.02;
    e.outputRelMse = 0.03;
    e.seconds = 0.5;
    s.entries.push_back(e);
    s.complete = false;
    s.seconds = 3;
    return s;
}

} // namespace qs::fuzz
