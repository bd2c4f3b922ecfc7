#include "recipe/Recipe.h"

#include "model/Model.h"
#include "util/AtomicFile.h"
#include "util/Error.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonValue>
#include <QRegularExpression>
#include <cmath>
#include <limits>
#include <map>

namespace qs {

namespace {

constexpr qint64 kMaxRecipeBytes = 16 << 20;

QString fileLabel(const QString& origin)
{
    return origin.isEmpty() ? QStringLiteral("recipe") : origin;
}

/// "R.json: rules[2].bits: problem"
Error jsonError(const QString& file, const QString& jsonPath, const QString& problem)
{
    return Error(fileLabel(file) + u": " + jsonPath + u": " + problem);
}

QString joinPath(const QString& parent, const QString& key)
{
    return parent.isEmpty() ? key : parent + u'.' + key;
}

/// Every key QuantSpec::fromJson reads: the union of what toJson writes for each method.
const QStringList& specKeys()
{
    static const QStringList keys = [] {
        QStringList k;
        for (const QuantMethodInfo& info : kQuantMethods) {
            QuantSpec s;
            s.method = info.method;
            s.symmetric = false;
            s.granularity = Granularity::PerGroup;
            const QStringList written = s.toJson().keys();
            for (const QString& key : written) {
                if (!k.contains(key))
                    k << key;
            }
        }
        return k;
    }();
    return keys;
}

void checkKeys(const QJsonObject& o, const QStringList& known, const QString& file, const QString& path)
{
    for (auto it = o.begin(); it != o.end(); ++it) {
        if (!known.contains(it.key()))
            throw jsonError(file, joinPath(path, it.key()),
                            QStringLiteral("unknown key (known: %1)").arg(known.join(QStringLiteral(", "))));
    }
}

qint64 readInteger(const QJsonObject& o, const QString& key, const QString& file, const QString& path,
                   qint64 def, qint64 lo, qint64 hi)
{
    const QJsonValue v = o.value(key);
    if (v.isUndefined())
        return def;
    const double d = v.toDouble();
    if (!v.isDouble() || d != std::floor(d))
        throw jsonError(file, joinPath(path, key), QStringLiteral("must be an integer"));
    if (d < double(lo) || d > double(hi)) {
        const QString value = QString::number(d, 'f', 0);
        if (hi == std::numeric_limits<int>::max())
            throw jsonError(file, joinPath(path, key),
                            QStringLiteral("%1 %2 is below the minimum %3").arg(key, value).arg(lo));
        throw jsonError(file, joinPath(path, key),
                        QStringLiteral("%1 %2 is outside %3–%4").arg(key, value).arg(lo).arg(hi));
    }
    return qint64(d);
}

QString readString(const QJsonObject& o, const QString& key, const QString& file, const QString& path)
{
    const QJsonValue v = o.value(key);
    if (v.isUndefined())
        return {};
    if (!v.isString())
        throw jsonError(file, joinPath(path, key), QStringLiteral("must be a string"));
    return v.toString();
}

QJsonObject readObject(const QJsonObject& o, const QString& key, const QString& file, const QString& path)
{
    const QJsonValue v = o.value(key);
    if (!v.isObject())
        throw jsonError(file, joinPath(path, key), QStringLiteral("must be an object"));
    return v.toObject();
}

QJsonArray readArray(const QJsonObject& o, const QString& key, const QString& file)
{
    const QJsonValue v = o.value(key);
    if (!v.isArray())
        throw jsonError(file, key, QStringLiteral("must be an array"));
    return v.toArray();
}

/// A non-empty regex that compiles; errors name `jsonPath`.
QString checkRegex(const QString& pattern, const QString& file, const QString& jsonPath)
{
    if (pattern.isEmpty())
        throw jsonError(file, jsonPath, QStringLiteral("empty regex (use \".\" to match every layer)"));
    const QRegularExpression re(pattern);
    if (!re.isValid())
        throw jsonError(file, jsonPath,
                        QStringLiteral("invalid regex '%1': %2 at offset %3")
                            .arg(pattern, re.errorString())
                            .arg(re.patternErrorOffset()));
    return pattern;
}

/// The "match" regex of a rule object.
QString readRegex(const QJsonObject& o, const QString& file, const QString& path)
{
    const QString key = QStringLiteral("match");
    if (!o.contains(key))
        throw jsonError(file, joinPath(path, key),
                        QStringLiteral("missing (a regex searched in the module name)"));
    return checkRegex(readString(o, key, file, path), file, joinPath(path, key));
}

DType readFloatDType(const QJsonObject& o, const QString& file, const QString& path, DType def)
{
    const QString key = QStringLiteral("dtype");
    if (!o.contains(key))
        return def;
    const QString name = readString(o, key, file, path);
    for (const DType t : {DType::F16, DType::BF16, DType::F32}) {
        if (name == dtypeName(t))
            return t;
    }
    throw jsonError(file, joinPath(path, key), u"unknown float type '" + name + u"' (f16, bf16, f32)");
}

/// Which key of `o` a QuantSpec::validate() problem is about: the first candidate `o` sets.
QString keyForProblem(const QString& problem, const QJsonObject& o)
{
    static const std::vector<std::pair<QString, QStringList>> table{
        {QStringLiteral("bits "), {QStringLiteral("bits"), QStringLiteral("method")}},
        {QStringLiteral("group size"),
         {QStringLiteral("group_size"), QStringLiteral("granularity"), QStringLiteral("method")}},
        {QStringLiteral("scales "), {QStringLiteral("scale_dtype"), QStringLiteral("method")}},
        {QStringLiteral("float layers"), {QStringLiteral("dtype"), QStringLiteral("method")}},
        {QStringLiteral("GPTQ "),
         {QStringLiteral("damp_percent"), QStringLiteral("block_size"), QStringLiteral("method")}},
        {QStringLiteral("AWQ "), {QStringLiteral("grid"), QStringLiteral("method")}},
        {QStringLiteral("SmoothQuant "), {QStringLiteral("alpha"), QStringLiteral("method")}},
        {QStringLiteral("LLM.int8 "), {QStringLiteral("threshold"), QStringLiteral("method")}},
        {QStringLiteral("activation bits"), {QStringLiteral("activation_bits"), QStringLiteral("method")}},
    };
    for (const auto& [prefix, keys] : table) {
        if (!problem.startsWith(prefix))
            continue;
        for (const QString& k : keys) {
            if (o.contains(k))
                return k;
        }
        return {};
    }
    return {};
}

/// QuantSpec::fromJson with spec-level problems attributed to the key that caused them:
/// "R.json: rules[2].bits: bits 9 is outside rtn's range 2–8".
QuantSpec parseSpec(const QJsonObject& o, const QString& file, const QString& path, const QuantSpec& base)
{
    for (const char* key : {"method", "granularity", "scale_dtype", "dtype"})
        readString(o, QLatin1String(key), file, path); // type check: fromJson reads these with toString()
    const QString where = fileLabel(file) + u": " + path;
    try {
        return QuantSpec::fromJson(o, where, base);
    } catch (const Error& e) {
        const QString prefix = where + u": ";
        if (!e.message().startsWith(prefix))
            throw;
        const QString problem = e.message().mid(prefix.size());
        const QString key = keyForProblem(problem, o);
        if (key.isEmpty())
            throw;
        throw jsonError(file, joinPath(path, key), problem);
    }
}

/// All QuantSpec fields under fromJson's keys.
QJsonObject everyField(const QuantSpec& s)
{
    return QJsonObject{
        {QStringLiteral("method"), quantMethodName(s.method)},
        {QStringLiteral("bits"), s.bits},
        {QStringLiteral("symmetric"), s.symmetric},
        {QStringLiteral("granularity"), granularityName(s.granularity)},
        {QStringLiteral("group_size"), s.groupSize},
        {QStringLiteral("scale_dtype"), dtypeName(s.scaleType)},
        {QStringLiteral("float_zeros"), s.floatZeros},
        {QStringLiteral("dtype"), dtypeName(s.floatType)},
        {QStringLiteral("clip_search"), s.clipSearch},
        {QStringLiteral("damp_percent"), s.dampPercent},
        {QStringLiteral("act_order"), s.actOrder},
        {QStringLiteral("static_groups"), s.staticGroups},
        {QStringLiteral("block_size"), s.blockSize},
        {QStringLiteral("grid"), s.awqGrid},
        {QStringLiteral("alpha"), s.smoothAlpha},
        {QStringLiteral("threshold"), s.outlierThreshold},
        {QStringLiteral("activation_bits"), s.activationBits},
    };
}

/// spec.toJson(), plus the fields it leaves out (parameters of other methods) where they differ from
/// what reading it back would give: rules inherit them, so the recipe must keep them.
QJsonObject defaultsJson(const QuantSpec& spec)
{
    QJsonObject o = spec.toJson();
    QuantSpec back;
    try {
        back = QuantSpec::fromJson(o, QStringLiteral("defaults"));
    } catch (const Error&) {
        return everyField(spec); // invalid spec: keep everything, validate() reports it
    }
    if (back == spec)
        return o;
    const QJsonObject all = everyField(spec);
    const QJsonObject got = everyField(back);
    for (auto it = all.begin(); it != all.end(); ++it) {
        if (!o.contains(it.key()) && got.value(it.key()) != it.value())
            o.insert(it.key(), it.value());
    }
    return o;
}

QRegularExpression compiled(const QString& pattern, const QString& file, const QString& jsonPath)
{
    checkRegex(pattern, file, jsonPath);
    return QRegularExpression(pattern);
}

QString ruleMethodName(const RecipeRule& r, QuantMethod& method)
{
    const QString name = r.overrides.value(u"method").toString();
    return quantMethodFromName(name, method) ? name : QString();
}

} // namespace

Recipe Recipe::fromJson(const QByteArray& json, const QString& pathForErrors)
{
    const QString& file = pathForErrors;
    QJsonParseError pe{};
    const QJsonDocument doc = QJsonDocument::fromJson(json, &pe);
    if (pe.error != QJsonParseError::NoError) {
        const QByteArray before = json.left(pe.offset);
        const qsizetype line = before.count('\n') + 1;
        const qsizetype column = pe.offset - (before.lastIndexOf('\n') + 1) + 1;
        throw Error::inFile(fileLabel(file), QStringLiteral("invalid JSON at line %1, column %2: %3")
                                                 .arg(line)
                                                 .arg(column)
                                                 .arg(pe.errorString()));
    }
    if (!doc.isObject())
        throw Error::inFile(fileLabel(file), QStringLiteral("a recipe is a JSON object"));
    const QJsonObject root = doc.object();

    Recipe r;
    r.origin = pathForErrors;
    const QString versionKey = QStringLiteral("version");
    if (!root.contains(versionKey))
        throw jsonError(file, versionKey,
                        QStringLiteral("missing (recipes say \"version\": %1)").arg(kCurrentVersion));
    r.version = int(readInteger(root, versionKey, file, {}, 0, std::numeric_limits<int>::min(),
                                std::numeric_limits<int>::max()));
    if (r.version > kCurrentVersion)
        throw jsonError(
            file, versionKey,
            QStringLiteral("recipe version %1 is newer than this QuantScope reads (%2); update QuantScope")
                .arg(r.version)
                .arg(kCurrentVersion));
    if (r.version < 1)
        throw jsonError(
            file, versionKey,
            QStringLiteral("unknown version %1 (current: %2)").arg(r.version).arg(kCurrentVersion));

    checkKeys(root,
              {versionKey, QStringLiteral("name"), QStringLiteral("description"), QStringLiteral("seed"),
               QStringLiteral("defaults"), QStringLiteral("rules"), QStringLiteral("keep_float"),
               QStringLiteral("calibration")},
              file, {});
    r.name = readString(root, QStringLiteral("name"), file, {});
    r.description = readString(root, QStringLiteral("description"), file, {});
    r.seed = std::uint32_t(readInteger(root, QStringLiteral("seed"), file, {}, r.seed, 0,
                                       std::numeric_limits<std::uint32_t>::max()));

    if (root.contains(u"defaults")) {
        const QJsonObject d = readObject(root, QStringLiteral("defaults"), file, {});
        checkKeys(d, specKeys(), file, QStringLiteral("defaults"));
        r.defaults = parseSpec(d, file, QStringLiteral("defaults"), QuantSpec());
    }

    if (root.contains(u"rules")) {
        const QJsonArray rules = readArray(root, QStringLiteral("rules"), file);
        QStringList ruleKeys = specKeys();
        ruleKeys << QStringLiteral("match") << QStringLiteral("comment");
        for (qsizetype i = 0; i < rules.size(); ++i) {
            const QString path = QStringLiteral("rules[%1]").arg(i);
            if (!rules[i].isObject())
                throw jsonError(file, path,
                                QStringLiteral("must be an object {\"match\": regex, spec fields…}"));
            const QJsonObject o = rules[i].toObject();
            checkKeys(o, ruleKeys, file, path);
            RecipeRule rule;
            rule.match = readRegex(o, file, path);
            readString(o, QStringLiteral("comment"), file, path);
            rule.overrides = o;
            rule.overrides.remove(u"match");
            parseSpec(rule.overrides, file, path, r.defaults); // each rule must be valid over the defaults
            r.rules.push_back(std::move(rule));
        }
    }

    if (root.contains(u"keep_float")) {
        const QJsonArray keep = readArray(root, QStringLiteral("keep_float"), file);
        for (qsizetype i = 0; i < keep.size(); ++i) {
            const QString path = QStringLiteral("keep_float[%1]").arg(i);
            KeepFloatRule k;
            if (keep[i].isString()) {
                k.match = checkRegex(keep[i].toString(), file, path);
            } else if (keep[i].isObject()) {
                const QJsonObject o = keep[i].toObject();
                checkKeys(o, {QStringLiteral("match"), QStringLiteral("dtype"), QStringLiteral("comment")},
                          file, path);
                k.match = readRegex(o, file, path);
                k.dtype = readFloatDType(o, file, path, DType::F16);
            } else {
                throw jsonError(
                    file, path,
                    QStringLiteral("must be a regex string or {\"match\": regex, \"dtype\": type}"));
            }
            r.keepFloat.push_back(std::move(k));
        }
    }

    if (root.contains(u"calibration")) {
        const QString path = QStringLiteral("calibration");
        const QJsonObject c = readObject(root, path, file, {});
        checkKeys(c,
                  {QStringLiteral("text"), QStringLiteral("samples"), QStringLiteral("seq_len"),
                   QStringLiteral("seed")},
                  file, path);
        CalibrationSettings& cal = r.calibration;
        cal.text = readString(c, QStringLiteral("text"), file, path);
        cal.samples = int(readInteger(c, QStringLiteral("samples"), file, path, cal.samples,
                                      CalibrationSettings::kMinSamples, CalibrationSettings::kMaxSamples));
        cal.seqLen = int(readInteger(c, QStringLiteral("seq_len"), file, path, cal.seqLen,
                                     CalibrationSettings::kMinSeqLen, std::numeric_limits<int>::max()));
        cal.seed = std::uint32_t(readInteger(c, QStringLiteral("seed"), file, path, cal.seed, 0,
                                             std::numeric_limits<std::uint32_t>::max()));
    }
    return r;
}

Recipe Recipe::fromFile(const QString& path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        throw Error::inFile(path, u"cannot read: " + f.errorString());
    if (f.size() > kMaxRecipeBytes)
        throw Error::inFile(path, QStringLiteral("%1 bytes is too large for a recipe").arg(f.size()));
    return fromJson(f.readAll(), path);
}

QJsonObject Recipe::toJson() const
{
    QJsonArray rulesJson;
    for (const RecipeRule& rule : rules) {
        QJsonObject o = rule.overrides;
        o.insert(QStringLiteral("match"), rule.match);
        rulesJson.append(o);
    }
    QJsonArray keep;
    for (const KeepFloatRule& k : keepFloat) {
        if (k.dtype == DType::F16)
            keep.append(k.match);
        else
            keep.append(QJsonObject{{QStringLiteral("match"), k.match},
                                    {QStringLiteral("dtype"), dtypeName(k.dtype)}});
    }
    return QJsonObject{
        {QStringLiteral("version"), version},
        {QStringLiteral("name"), name},
        {QStringLiteral("description"), description},
        {QStringLiteral("seed"), qint64(seed)},
        {QStringLiteral("defaults"), defaultsJson(defaults)},
        {QStringLiteral("rules"), rulesJson},
        {QStringLiteral("keep_float"), keep},
        {QStringLiteral("calibration"),
         QJsonObject{
             {QStringLiteral("text"), calibration.text},
             {QStringLiteral("samples"), calibration.samples},
             {QStringLiteral("seq_len"), calibration.seqLen},
             {QStringLiteral("seed"), qint64(calibration.seed)},
         }},
    };
}

void Recipe::validate() const
{
    fromJson(QJsonDocument(toJson()).toJson(), origin);
}

void Recipe::saveFile(const QString& path) const
{
    fromJson(QJsonDocument(toJson()).toJson(), path); // validate, errors naming the target
    writeFileAtomically(path, QJsonDocument(toJson()).toJson(QJsonDocument::Indented));
}

LayerPlan Recipe::resolve(const Model& model, QStringList* warnings) const
{
    std::vector<QRegularExpression> ruleRe, keepRe;
    for (std::size_t i = 0; i < rules.size(); ++i)
        ruleRe.push_back(compiled(rules[i].match, origin, QStringLiteral("rules[%1].match").arg(i)));
    for (std::size_t k = 0; k < keepFloat.size(); ++k)
        keepRe.push_back(compiled(keepFloat[k].match, origin, QStringLiteral("keep_float[%1]").arg(k)));
    std::vector<int> ruleHits(rules.size(), 0), keepHits(keepFloat.size(), 0);

    LayerPlan plan;
    const std::vector<LinearLayerInfo>& linears = model.linears();
    for (std::size_t li = 0; li < linears.size(); ++li) {
        const QString& name = linears[li].name;
        QuantSpec spec = defaults;
        int matched = -1;
        for (std::size_t i = 0; i < rules.size(); ++i) {
            if (!ruleRe[i].match(name).hasMatch())
                continue;
            try {
                spec = parseSpec(rules[i].overrides, origin, QStringLiteral("rules[%1]").arg(i), spec);
            } catch (const Error& e) {
                throw Error(e.message() +
                            QStringLiteral(" (layer %1, applied over %2)").arg(name, sourceName(matched)));
            }
            matched = int(i);
            ++ruleHits[i];
        }
        for (std::size_t k = 0; k < keepFloat.size(); ++k) {
            if (!keepRe[k].match(name).hasMatch())
                continue;
            spec.method = QuantMethod::Float;
            spec.floatType = keepFloat[k].dtype;
            matched = int(rules.size() + k);
            ++keepHits[k];
        }
        QString note;
        try {
            spec = spec.fittedTo(linears[li].inFeatures, &note);
        } catch (const Error& e) {
            throw Error(
                QStringLiteral("%1: layer %2 (%3): %4").arg(origin, name, sourceName(matched), e.message()));
        }
        plan.entries.push_back({int(li), name, spec, matched, note});
    }

    if (warnings) {
        const QString model_ = model.displayName();
        for (std::size_t i = 0; i < rules.size(); ++i) {
            if (ruleHits[i] == 0)
                *warnings << QStringLiteral(
                                 "rules[%1] '%2' matches no layer of %3 — is this recipe for another model?")
                                 .arg(i)
                                 .arg(rules[i].match, model_);
        }
        for (std::size_t k = 0; k < keepFloat.size(); ++k) {
            if (keepHits[k] == 0)
                *warnings
                    << QStringLiteral(
                           "keep_float[%1] '%2' matches no layer of %3 — is this recipe for another model?")
                           .arg(k)
                           .arg(keepFloat[k].match, model_);
        }
    }
    return plan;
}

QString Recipe::sourceName(int matchedRule) const
{
    if (matchedRule < 0)
        return QStringLiteral("defaults");
    if (std::size_t(matchedRule) < rules.size())
        return QStringLiteral("rules[%1]").arg(matchedRule);
    if (std::size_t(matchedRule) < rules.size() + keepFloat.size())
        return QStringLiteral("keep_float[%1]").arg(std::size_t(matchedRule) - rules.size());
    return QStringLiteral("rule %1 (not in this recipe)").arg(matchedRule);
}

QString Recipe::resolvedCalibrationText() const
{
    if (calibration.text.isEmpty())
        return {};
    if (QFileInfo(calibration.text).isAbsolute() || origin.isEmpty())
        return calibration.text;
    return QDir(QFileInfo(origin).absolutePath()).filePath(calibration.text);
}

namespace {

QStringList calibrationProblems(const Recipe& r, const QString& users)
{
    if (users.isEmpty())
        return {};
    if (r.calibration.text.isEmpty())
        return {jsonError(r.origin, QStringLiteral("calibration.text"),
                          QStringLiteral("is empty, but %1 need calibration text").arg(users))
                    .message()};
    const QString path = r.resolvedCalibrationText();
    if (!QFileInfo(path).isFile())
        return {jsonError(r.origin, QStringLiteral("calibration.text"),
                          QStringLiteral("'%1' not found (looked for %2); %3 need calibration text")
                              .arg(r.calibration.text, QFileInfo(path).absoluteFilePath(), users))
                    .message()};
    return {};
}

} // namespace

QStringList Recipe::problemsForRun() const
{
    QStringList users;
    if (defaults.needsCalibration())
        users << QStringLiteral("defaults (%1)").arg(quantMethodName(defaults.method));
    for (std::size_t i = 0; i < rules.size(); ++i) {
        QuantMethod m{};
        const QString name = ruleMethodName(rules[i], m);
        const bool gguf = !name.isEmpty() && m == QuantMethod::Ggml;
        if (!name.isEmpty() &&
            (quantMethodInfo(m).needsCalibration || (gguf && rules[i].overrides.value(u"imatrix").toBool())))
            users << QStringLiteral("rules[%1] (%2)").arg(i).arg(quantMethodName(m));
    }
    return calibrationProblems(*this, users.join(QStringLiteral(", ")));
}

QStringList Recipe::problemsForRun(const LayerPlan& plan) const
{
    std::map<QString, int> perMethod;
    QString first;
    int n = 0;
    for (const LayerPlanEntry& e : plan.entries) {
        if (!e.spec.needsCalibration())
            continue;
        ++perMethod[quantMethodName(e.spec.method)];
        if (first.isEmpty())
            first = e.name;
        ++n;
    }
    if (n == 0)
        return {};
    QStringList counts;
    for (const auto& [method, count] : perMethod)
        counts << QStringLiteral("%1: %2").arg(method).arg(count);
    return calibrationProblems(*this, QStringLiteral("%1 layer%2 (%3; first %4)")
                                          .arg(n)
                                          .arg(n == 1 ? QString() : QStringLiteral("s"))
                                          .arg(counts.join(QStringLiteral(", ")), first));
}

bool Recipe::operator==(const Recipe& o) const
{
    return version == o.version && name == o.name && description == o.description && defaults == o.defaults &&
           rules == o.rules && keepFloat == o.keepFloat && calibration == o.calibration && seed == o.seed;
}

QByteArray Recipe::templateJson()
{
    return QByteArrayLiteral(R"json({
  "version": 1,
  "name": "mixed-int4",
  "description": "RTN int4 g128 everywhere; GPTQ int4 g64 act-order for the attention q/k projections; int5 for the MLP down projections; int8 for the whole first block; the output head kept in f16.",
  "seed": 1234,
  "defaults": {
    "method": "rtn",
    "bits": 4,
    "group_size": 128,
    "symmetric": false
  },
  "rules": [
    {
      "match": "self_attn\\.(q|k)_proj$",
      "method": "gptq",
      "group_size": 64,
      "symmetric": true,
      "act_order": true,
      "static_groups": true
    },
    {
      "match": "mlp\\.down_proj$",
      "bits": 5
    },
    {
      "match": "layers\\.0\\.",
      "bits": 8,
      "comment": "later rules win field by field: block 0 gets 8 bits, keeping each layer's method"
    }
  ],
  "keep_float": [
    "^lm_head$"
  ],
  "calibration": {
    "text": "",
    "samples": 128,
    "seq_len": 512,
    "seed": 1234
  }
}
)json");
}

} // namespace qs
