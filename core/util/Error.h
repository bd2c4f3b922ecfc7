#pragma once

#include <QString>

#include <exception>
#include <string>

namespace qs {

/// The one error type core code throws. Its message is complete and user-facing:
/// it names the file (and tensor, offset, JSON path …) and what is wrong with it.
/// Jobs and front ends catch it at their boundary; nothing below them shows dialogs or exits.
class Error : public std::exception
{
public:
    explicit Error(QString message) : m_message(std::move(message)), m_utf8(m_message.toStdString()) {}

    /// "<file>: <problem>" — the shape every IO error takes.
    static Error inFile(const QString& file, const QString& problem) { return Error(file + u": " + problem); }

    const QString& message() const noexcept { return m_message; }
    const char* what() const noexcept override { return m_utf8.c_str(); }

private:
    QString m_message;
    std::string m_utf8;
};

/// Thrown when a job notices its cancel token; not an error the user needs explained.
class Cancelled : public std::exception
{
public:
    const char* what() const noexcept override { return "cancelled"; }
};

} // namespace qs
