#pragma once

#include "tokenizer/HfSplit.h"

#include <QJsonArray>
#include <QJsonObject>
#include <QJsonValue>
#include <QString>
#include <string>
#include <vector>

/// Internal to core/tokenizer: reading the fields of tokenizer.json components.
namespace qs::hf {

/// Reads tokenizer.json fields; every error names the file and the JSON path (`where`).
class JsonReader
{
public:
    explicit JsonReader(QString file) : m_file(std::move(file)) {}

    [[noreturn]] void fail(const QString& where, const QString& what) const;
    [[noreturn]] void unsupported(const QString& kind, const QString& type, const QString& where,
                                  const QString& supported) const;

    /// The "type" of the component object v.
    QString typeOf(const QJsonValue& v, const QString& where) const;
    /// A string field; `def` when absent or null (an error when there is no default).
    std::string str(const QJsonObject& o, const QString& key, const QString& where,
                    const char* def = nullptr) const;
    bool boolean(const QJsonObject& o, const QString& key, bool def) const;
    /// A token id: an integer in 0 … 2^31 − 2; `what` names it in the error.
    int tokenId(const QJsonValue& v, const QString& where, const QString& what) const;
    /// s as its single code point (an error naming `key` when it is not exactly one).
    char32_t singleChar(const std::string& s, const QString& where, const QString& key) const;
    /// {"String": literal} or {"Regex": pattern}.
    Pattern pattern(const QJsonValue& v, const QString& where) const;

    /// Each element of the array o[key], read by read(element, where) at its own JSON path
    /// ("where.key[i]"): the items of a Sequence component.
    template <class Read>
    auto list(const QJsonObject& o, const QString& key, const QString& where, Read read) const
    {
        std::vector<decltype(read(QJsonValue(), where))> items;
        const QJsonArray array = o.value(key).toArray();
        for (qsizetype i = 0; i < array.size(); ++i)
            items.push_back(read(array[i], where + QStringLiteral(".%1[%2]").arg(key).arg(i)));
        return items;
    }

private:
    QString m_file;
};

} // namespace qs::hf
