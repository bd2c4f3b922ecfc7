#include "train/Optimizer.h"

#include "util/Error.h"

#include <QDataStream>
#include <QIODevice>
#include <cmath>
#include <numbers>

namespace qs {

QString OptimizerSettings::validate() const
{
    if (!(learningRate > 0) || !(learningRate <= 1.0))
        return QStringLiteral("learning rate %1 is outside (0, 1]").arg(learningRate);
    if (steps < 1 || steps > 10'000'000)
        return QStringLiteral("steps %1 is outside 1…10,000,000").arg(steps);
    if (warmupSteps < 0 || warmupSteps >= steps)
        return QStringLiteral("warm-up of %1 steps must be at least 0 and fewer than the %2 steps")
            .arg(warmupSteps)
            .arg(steps);
    if (!(minLearningRateRatio >= 0) || minLearningRateRatio > 1)
        return QStringLiteral("the final learning-rate ratio %1 is outside [0, 1]").arg(minLearningRateRatio);
    if (!(weightDecay >= 0) || weightDecay > 1)
        return QStringLiteral("weight decay %1 is outside [0, 1]").arg(weightDecay);
    if (!(clipNorm >= 0) || !std::isfinite(clipNorm))
        return QStringLiteral("gradient clip %1 must be 0 (off) or positive").arg(clipNorm);
    if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) || !(epsilon > 0))
        return QStringLiteral("Adam's betas must lie in [0, 1) and epsilon be positive");
    for (double k : kindScale)
        if (!(k >= 0) || !std::isfinite(k))
            return QStringLiteral("a per-kind learning-rate multiplier is negative or not finite");
    return {};
}

double OptimizerSettings::learningRateAt(int step) const
{
    if (step < warmupSteps)
        return learningRate * double(step + 1) / double(warmupSteps);
    const int span = std::max(1, steps - warmupSteps - 1);
    const double progress = std::min(1.0, double(step - warmupSteps) / double(span));
    const double cosine = 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
    return learningRate * (minLearningRateRatio + (1.0 - minLearningRateRatio) * cosine);
}

Optimizer::Optimizer(OptimizerSettings settings) : m_settings(settings)
{
    const QString problem = m_settings.validate();
    if (!problem.isEmpty())
        throw Error(problem);
}

double Optimizer::step(std::deque<TrainParam>& params)
{
    std::vector<TrainParam*> list;
    for (TrainParam& p : params)
        list.push_back(&p);
    return step(list);
}

double Optimizer::step(const std::vector<TrainParam*>& params)
{
    if (m_m.empty())
        for (const TrainParam* p : params)
            if (p->trainable) {
                const bool adam = !m_settings.signDescent[std::size_t(p->kind)];
                m_m.emplace_back(adam ? p->value.size() : 0, 0.0f);
                m_v.emplace_back(adam ? p->value.size() : 0, 0.0f);
            }
    double sumSquares = 0;
    for (const TrainParam* p : params)
        if (p->trainable)
            for (float g : p->grad)
                sumSquares += double(g) * double(g);
    if (!std::isfinite(sumSquares))
        throw Error(
            QStringLiteral("the gradient is not finite at step %1 (the loss diverged): lower the learning "
                           "rate")
                .arg(m_step + 1));
    const double norm = std::sqrt(sumSquares);
    const double clip =
        m_settings.clipNorm > 0 && norm > m_settings.clipNorm ? m_settings.clipNorm / norm : 1.0;
    const double lr = m_settings.learningRateAt(m_step);
    ++m_step;
    const double b1 = m_settings.beta1, b2 = m_settings.beta2;
    const double c1 = 1.0 - std::pow(b1, m_step), c2 = 1.0 - std::pow(b2, m_step);
    std::size_t k = 0;
    for (TrainParam* param : params) {
        TrainParam& p = *param;
        if (!p.trainable)
            continue;
        std::vector<float>& m = m_m[k];
        std::vector<float>& v = m_v[k];
        ++k;
        const double rate = lr * m_settings.kindScale[std::size_t(p.kind)];
        const bool decay = p.kind == ParamKind::Weight || p.kind == ParamKind::Embedding;
        const double wd = decay ? m_settings.weightDecay : 0.0;
        if (m_settings.signDescent[std::size_t(p.kind)]) {
            for (std::size_t i = 0; i < p.value.size(); ++i)
                if (p.grad[i] != 0.0f)
                    p.value[i] =
                        float(double(p.value[i]) * (1.0 - rate * wd) - rate * (p.grad[i] > 0 ? 1.0 : -1.0));
            continue;
        }
        for (std::size_t i = 0; i < p.value.size(); ++i) {
            const double g = double(p.grad[i]) * clip;
            const double mi = b1 * double(m[i]) + (1.0 - b1) * g;
            const double vi = b2 * double(v[i]) + (1.0 - b2) * g * g;
            m[i] = float(mi);
            v[i] = float(vi);
            const double update = (mi / c1) / (std::sqrt(vi / c2) + m_settings.epsilon);
            p.value[i] = float(double(p.value[i]) * (1.0 - rate * wd) - rate * update);
        }
    }
    return norm;
}

namespace {
constexpr std::size_t kPiece = std::size_t(1) << 26; // floats per raw write (256 MB)
}

void writeFloatArray(QDataStream& out, const std::vector<float>& v)
{
    for (std::size_t i = 0; i < v.size(); i += kPiece) {
        const std::size_t n = std::min(kPiece, v.size() - i);
        out.writeRawData(reinterpret_cast<const char*>(v.data() + i), int(n * sizeof(float)));
    }
}

bool readFloatArray(QDataStream& in, std::vector<float>& v)
{
    for (std::size_t i = 0; i < v.size(); i += kPiece) {
        const int len = int(std::min(kPiece, v.size() - i) * sizeof(float));
        if (in.readRawData(reinterpret_cast<char*>(v.data() + i), len) != len)
            return false;
    }
    return true;
}

QByteArray Optimizer::save() const
{
    QByteArray bytes;
    QDataStream out(&bytes, QIODevice::WriteOnly);
    out.setVersion(QDataStream::Qt_6_0);
    save(out);
    return bytes;
}

void Optimizer::save(QDataStream& out) const
{
    out << quint32(0x51534f50) << qint32(m_step) << quint32(m_m.size());
    for (std::size_t k = 0; k < m_m.size(); ++k) {
        out << quint64(m_m[k].size());
        writeFloatArray(out, m_m[k]);
        writeFloatArray(out, m_v[k]);
    }
}

void Optimizer::restore(const QByteArray& bytes, const std::deque<TrainParam>& params)
{
    QDataStream in(bytes);
    in.setVersion(QDataStream::Qt_6_0);
    restore(in, params);
}

void Optimizer::restore(QDataStream& in, const std::deque<TrainParam>& params)
{
    quint32 magic = 0, count = 0;
    qint32 step = 0;
    in >> magic >> step >> count;
    const auto bad = [](const QString& why) { return Error(QStringLiteral("optimiser state: %1").arg(why)); };
    if (in.status() != QDataStream::Ok || magic != 0x51534f50 || step < 0)
        throw bad(QStringLiteral("not a saved optimiser state"));
    std::vector<const TrainParam*> trainable;
    for (const TrainParam& p : params)
        if (p.trainable)
            trainable.push_back(&p);
    if (count != 0 && count != trainable.size())
        throw bad(QStringLiteral("saved for %1 trainable tensors, the model has %2")
                      .arg(count)
                      .arg(trainable.size()));
    std::vector<std::vector<float>> m(count), v(count);
    for (quint32 k = 0; k < count; ++k) {
        quint64 n = 0;
        in >> n;
        const bool adam = !m_settings.signDescent[std::size_t(trainable[k]->kind)];
        if (in.status() != QDataStream::Ok || n != (adam ? trainable[k]->value.size() : 0))
            throw bad(QStringLiteral("tensor %1 does not match %2").arg(k).arg(trainable[k]->name));
        m[k].resize(std::size_t(n));
        v[k].resize(std::size_t(n));
        if (!readFloatArray(in, m[k]) || !readFloatArray(in, v[k]))
            throw bad(QStringLiteral("truncated"));
    }
    m_step = step;
    m_m = std::move(m);
    m_v = std::move(v);
}

} // namespace qs
