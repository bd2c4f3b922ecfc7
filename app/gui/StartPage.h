#pragma once

#include "JobRunner.h"
#include "model/ModelProfile.h"

#include <QWidget>
#include <memory>

class QGridLayout;

class QCommandLinkButton;
class QLabel;
class QTextBrowser;

namespace qs {

class Model;

/// The page a model opens on (as Qt Creator's Welcome mode): the model's picture — its
/// properties, where its parameters are by layer kind, how each kind's weights are spread
/// (ModelProfile, sampled on a worker thread) and its bits per weight — and one-click starts:
/// compare RTN, GPTQ and Q4_K on this model, find the most sensitive layers, open the
/// playground. The window carries the starts out (it owns the pages they use).
class StartPage : public QWidget
{
    Q_OBJECT
public:
    explicit StartPage(QWidget* parent = nullptr);
    ~StartPage() override;

    /// `tokenizer` describes the tokenizer the model's runs will use; `tokenizerWarning` says why
    /// it is not the folder's preferred one, or why none can be used (shown in the properties).
    void setModel(std::shared_ptr<const Model> model, const QString& tokenizer = {},
                  const QString& tokenizerWarning = {});
    /// The picture shown (weights sampled once the profile job has finished).
    const ModelProfile& profile() const { return m_profile; }
    bool isProfiling() const { return m_job.isRunning(); }

Q_SIGNALS:
    void compareRequested();
    void sensitivityRequested();
    void playgroundRequested();
    /// The weight sample finished (ok) or failed (message).
    void profileFinished(bool ok, const QString& message);

protected:
    void resizeEvent(QResizeEvent* event) override;

private:
    void showProfile(const QString& note);
    /// The one-click starts side by side where their titles fit, else two (or one) to a row.
    void reflowStarts();

    std::shared_ptr<const Model> m_model;
    ModelProfile m_profile;
    JobHandle m_job;
    QLabel* m_title = nullptr;
    QGridLayout* m_startsLayout = nullptr;
    QTextBrowser* m_properties = nullptr;
    QTextBrowser* m_breakdown = nullptr;
    QCommandLinkButton* m_compare = nullptr;
    QCommandLinkButton* m_sensitivity = nullptr;
    QCommandLinkButton* m_playground = nullptr;
};

} // namespace qs
