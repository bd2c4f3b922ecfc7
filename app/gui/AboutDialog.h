#pragma once

#include <QDialog>
#include <QList>
#include <QPair>
#include <QString>

namespace qs {

/// Help › About QuantScope: version, how this binary was built (compiler, Qt, CUDA, SIMD), the
/// folders it uses, and the licenses of what it is built from.
class AboutDialog : public QDialog
{
    Q_OBJECT
public:
    /// `paths`: (what, folder or file) rows shown under "Folders".
    explicit AboutDialog(const QList<QPair<QString, QString>>& paths, QWidget* parent = nullptr);

    /// The build description (one line per item), also useful in bug reports.
    static QString buildInfo();
};

} // namespace qs
