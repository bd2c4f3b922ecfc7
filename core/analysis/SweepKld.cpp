#include "analysis/SweepKld.h"

#include <QHash>
#include <limits>

namespace qs {

int attachSweepKld(std::vector<RunSummary>& runs, const SensitivityResult& sweep)
{
    QHash<QString, QString> schemeByLabel; // spec label → the sweep's scheme name
    for (const SensitivityScheme& s : sweep.schemes)
        schemeByLabel.insert(s.spec.label(), s.name);
    int filled = 0;
    for (RunSummary& run : runs) {
        const bool sameModel = run.fingerprint.isEmpty() || sweep.modelFingerprint.isEmpty() ||
                               run.fingerprint == sweep.modelFingerprint;
        for (LayerMetrics& l : run.layers) {
            l.kldContribution = std::numeric_limits<double>::quiet_NaN();
            const auto scheme = schemeByLabel.constFind(l.label);
            if (!sameModel || scheme == schemeByLabel.constEnd())
                continue;
            if (const SensitivityEntry* e = sweep.find(l.name, *scheme)) {
                l.kldContribution = e->kld;
                ++filled;
            }
        }
    }
    return filled;
}

} // namespace qs
