<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="de_DE">
<context>
    <name>AboutDialog</name>
    <message>
        <source>widgets, JSON, concurrency</source>
        <translation>Widgets, JSON, Nebenläufigkeit</translation>
    </message>
    <message>
        <source>plots</source>
        <translation>Diagramme</translation>
    </message>
    <message>
        <source>linear algebra (GPTQ, GEMM)</source>
        <translation>lineare Algebra (GPTQ, GEMM)</translation>
    </message>
    <message>
        <source>tokenizer.model tokenizers</source>
        <translation>Tokenizer aus tokenizer.model</translation>
    </message>
    <message>
        <source>tokenizer pre-tokenization regexes</source>
        <translation>reguläre Ausdrücke der Prä-Tokenisierung</translation>
    </message>
    <message>
        <source>parallel kernels</source>
        <translation>parallele Kernel</translation>
    </message>
</context>
<context>
    <name>ExperimentJob</name>
    <message>
        <source>float</source>
        <translation>Float</translation>
    </message>
    <message>
        <source>float baseline</source>
        <translation>Float-Referenz</translation>
    </message>
    <message>
        <source>evaluating</source>
        <translation>Evaluierung</translation>
    </message>
</context>
<context>
    <name>Playground</name>
    <message>
        <source>its weights are plain RTN (shown as RTN); what it adds quantizes activations at run time</source>
        <translation>die Gewichte sind einfaches RTN (als RTN dargestellt); der Zusatz quantisiert Aktivierungen zur Laufzeit</translation>
    </message>
    <message>
        <source>its format fixes bits and block size itself; the playground has no control for it yet</source>
        <translation>das Format legt Bits und Blockgröße selbst fest; der Playground bietet dafür noch keine Einstellung</translation>
    </message>
    <message>
        <source>with the isotropic inputs one row is given it is RTN; it runs on a real row with the layer&apos;s statistics on the &quot;GPTQ&quot; page</source>
        <translation>mit den isotropen Eingaben, die eine Zeile bekommt, ist es RTN; es läuft auf einer echten Zeile mit den Statistiken der Schicht auf der Seite „GPTQ“</translation>
    </message>
    <message>
        <source>it scales inputs by their activations; with the isotropic inputs one row is given it is RTN</source>
        <translation>es skaliert Eingaben nach ihren Aktivierungen; mit den isotropen Eingaben, die eine Zeile bekommt, ist es RTN</translation>
    </message>
</context>
<context>
    <name>Presets</name>
    <message>
        <source>Uniform GPTQ int4 g128</source>
        <translation>Einheitlich GPTQ int4 g128</translation>
    </message>
    <message>
        <source>Attention 8-bit + MLP 4-bit (GPTQ g128)</source>
        <translation>Attention 8 Bit + MLP 4 Bit (GPTQ g128)</translation>
    </message>
    <message>
        <source>First and last block 8-bit, the rest 4-bit (GPTQ g128)</source>
        <translation>Erster und letzter Block 8 Bit, der Rest 4 Bit (GPTQ g128)</translation>
    </message>
    <message>
        <source>RTN int8 per channel (no calibration)</source>
        <translation>RTN int8 pro Kanal (ohne Kalibrierung)</translation>
    </message>
    <message>
        <source>RTN int4 g32 (no calibration)</source>
        <translation>RTN int4 g32 (ohne Kalibrierung)</translation>
    </message>
    <message>
        <source>SmoothQuant W8A8</source>
        <translation>SmoothQuant W8A8</translation>
    </message>
</context>
<context>
    <name>TrainJob</name>
    <message>
        <source>QAT</source>
        <translation>QAT</translation>
    </message>
    <message>
        <source>QAT (end to end)</source>
        <translation>QAT (Ende-zu-Ende)</translation>
    </message>
    <message>
        <source>Block-AP</source>
        <translation>Block-AP</translation>
    </message>
    <message>
        <source>Block-AP (block-wise)</source>
        <translation>Block-AP (blockweise)</translation>
    </message>
    <message>
        <source>Block after block, weights, scales and zeros fitted to the float model&apos;s block outputs.</source>
        <translation>Block für Block werden Gewichte, Skalen und Nullpunkte an die Blockausgaben des Float-Modells angepasst.</translation>
    </message>
    <message>
        <source>SignRound</source>
        <translation>SignRound</translation>
    </message>
    <message>
        <source>SignRound (learned rounding)</source>
        <translation>SignRound (gelernte Rundung)</translation>
    </message>
    <message>
        <source>Block after block, each weight&apos;s rounding (up or down) learned by signed descent; scales and zeros by AdamW.</source>
        <translation>Block für Block wird die Rundung jedes Gewichts (auf oder ab) per Vorzeichen-Gradientenabstieg gelernt; Skalen und Nullpunkte mit AdamW.</translation>
    </message>
    <message>
        <source>Weights, scales and zeros tuned together, end to end: on the KL divergence from the float model when it is there (distillation), else on the training text&apos;s next-token loss.</source>
        <translation>Gewichte, Skalen und Nullpunkte gemeinsam Ende-zu-Ende trainiert: auf der KL-Divergenz vom Float-Modell, wenn es vorhanden ist (Destillation), sonst auf dem Next-Token-Verlust des Trainingstexts.</translation>
    </message>
</context>
<context>
    <name>qs::AboutDialog</name>
    <message>
        <source>About QuantScope</source>
        <translation>Über QuantScope</translation>
    </message>
    <message>
        <source>&lt;p&gt;A workbench for deciding how to quantize large language models: methods, bit-widths and group sizes per layer, and what they cost in quality, memory and speed.&lt;/p&gt;</source>
        <translation>&lt;p&gt;Eine Werkbank für die Entscheidung, wie große Sprachmodelle quantisiert werden: Methoden, Bitbreiten und Gruppengrößen pro Schicht, und was sie an Qualität, Speicher und Geschwindigkeit kosten.&lt;/p&gt;</translation>
    </message>
    <message>
        <source>Build</source>
        <translation>Build</translation>
    </message>
    <message>
        <source>Folders</source>
        <translation>Ordner</translation>
    </message>
    <message>
        <source>(none)</source>
        <translation>(keiner)</translation>
    </message>
    <message>
        <source>Licenses</source>
        <translation>Lizenzen</translation>
    </message>
</context>
<context>
    <name>qs::DistributionPlot</name>
    <message>
        <source>Value distribution</source>
        <translation>Werteverteilung</translation>
    </message>
    <message>
        <source>value</source>
        <translation>Wert</translation>
    </message>
    <message>
        <source>count (log)</source>
        <translation>Anzahl (log)</translation>
    </message>
    <message>
        <source>count</source>
        <translation>Anzahl</translation>
    </message>
    <message>
        <source>No values to show</source>
        <translation>Keine Werte zum Anzeigen</translation>
    </message>
    <message>
        <source>values</source>
        <translation>Werte</translation>
    </message>
    <message>
        <source>[%1, %2): %3</source>
        <translation>[%1, %2): %3</translation>
    </message>
    <message>
        <source>quantization levels (%1)</source>
        <translation>Quantisierungsstufen (%1)</translation>
    </message>
    <message>
        <source>level %1</source>
        <translation>Stufe %1</translation>
    </message>
</context>
<context>
    <name>qs::ErrorHistogramPlot</name>
    <message>
        <source>weight error W − Ŵ</source>
        <translation>Gewichtsfehler W − Ŵ</translation>
    </message>
    <message>
        <source>density (log)</source>
        <translation>Dichte (log)</translation>
    </message>
    <message>
        <source>density</source>
        <translation>Dichte</translation>
    </message>
    <message>
        <source>Error histogram</source>
        <translation>Fehlerhistogramm</translation>
    </message>
    <message>
        <source>Error histogram: %1</source>
        <translation>Fehlerhistogramm: %1</translation>
    </message>
    <message>
        <source>No error histogram for this layer</source>
        <translation>Kein Fehlerhistogramm für diese Schicht</translation>
    </message>
    <message>
        <source>%1
[%2, %3): %4 weights</source>
        <translation>%1
[%2, %3): %4 Gewichte</translation>
    </message>
    <message>
        <source>%1 across layers</source>
        <translation>%1 über die Schichten</translation>
    </message>
    <message>
        <source>%1 of a layer (%2)</source>
        <translation>%1 einer Schicht (%2)</translation>
    </message>
    <message>
        <source>layers (log)</source>
        <translation>Schichten (log)</translation>
    </message>
    <message>
        <source>layers</source>
        <translation>Schichten</translation>
    </message>
    <message>
        <source>No KLD contribution: it comes from a sensitivity sweep of this model that measured the shown runs&apos; layer schemes</source>
        <translation>Kein KLD-Beitrag: Er stammt aus einem Sensitivitätsdurchlauf dieses Modells, der die Schichtschemata der gezeigten Läufe gemessen hat</translation>
    </message>
    <message>
        <source>No shown run measured its layers&apos; output error</source>
        <translation>Kein gezeigter Lauf hat den Ausgabefehler seiner Schichten gemessen</translation>
    </message>
    <message numerus="yes">
        <source>%1
[%2, %3): %n layer(s)</source>
        <translation>
            <numerusform>%1
[%2, %3): %n Schicht</numerusform>
            <numerusform>%1
[%2, %3): %n Schichten</numerusform>
        </translation>
    </message>
    <message>
        <source>%1 — weight rel. MSE %2, output rel. MSE %3</source>
        <translation>%1 — rel. MSE der Gewichte %2, rel. MSE der Ausgabe %3</translation>
    </message>
    <message>
        <source>not measured</source>
        <translation>nicht gemessen</translation>
    </message>
</context>
<context>
    <name>qs::FineTuneDialog</name>
    <message>
        <source>before</source>
        <translation>vorher</translation>
    </message>
    <message>
        <source>after</source>
        <translation>nachher</translation>
    </message>
    <message>
        <source>block %1</source>
        <translation>Block %1</translation>
    </message>
    <message>
        <source>Fine-tune</source>
        <translation>Fine-Tuning</translation>
    </message>
    <message>
        <source>Use QAT instead</source>
        <translation>Stattdessen QAT verwenden</translation>
    </message>
    <message>
        <source>QAT trains end to end on the training text and needs no float model</source>
        <translation>QAT trainiert Ende-zu-Ende auf dem Trainingstext und braucht kein Float-Modell</translation>
    </message>
    <message>
        <source>Start</source>
        <translation>Starten</translation>
    </message>
    <message>
        <source>Stop (keep best)</source>
        <translation>Anhalten (Bestes behalten)</translation>
    </message>
    <message>
        <source>End after the current step and keep the run: the step with the lowest held-out loss is saved and evaluated</source>
        <translation>Nach dem aktuellen Schritt beenden und den Lauf behalten: Der Schritt mit dem niedrigsten Validierungsverlust wird gespeichert und evaluiert</translation>
    </message>
    <message>
        <source>Cancel (discard)</source>
        <translation>Abbrechen (verwerfen)</translation>
    </message>
    <message>
        <source>End now and keep nothing: no folder is written</source>
        <translation>Jetzt beenden und nichts behalten: Es wird kein Ordner geschrieben</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>Schließen</translation>
    </message>
    <message>
        <source>Hide this window; a running job goes on (Fine-tune… on the Runs page shows it)</source>
        <translation>Dieses Fenster ausblenden; ein laufender Auftrag läuft weiter („Fine-Tuning…“ auf der Seite „Läufe“ zeigt ihn)</translation>
    </message>
    <message>
        <source>The peak learning rate (after the warm-up, before the cosine decay); scales and zeros learn at their own multiple of it</source>
        <translation>Die Spitzenlernrate (nach dem Warm-up, vor dem Kosinus-Abfall); Skalen und Nullpunkte lernen mit einem eigenen Vielfachen davon</translation>
    </message>
    <message>
        <source> windows per step</source>
        <translation> Fenster pro Schritt</translation>
    </message>
    <message>
        <source> tokens</source>
        <translation> Token</translation>
    </message>
    <message>
        <source> windows</source>
        <translation> Fenster</translation>
    </message>
    <message>
        <source>Training text</source>
        <translation>Trainingstext</translation>
    </message>
    <message>
        <source>Held-out text</source>
        <translation>Validierungstext</translation>
    </message>
    <message>
        <source>none: no held-out loss, no best step to keep</source>
        <translation>keiner: kein Validierungsverlust, kein bester Schritt zum Behalten</translation>
    </message>
    <message>
        <source>Scored about ten times a run; the step where it is lowest is the one kept</source>
        <translation>Wird etwa zehnmal pro Lauf bewertet; behalten wird der Schritt mit dem niedrigsten Wert</translation>
    </message>
    <message>
        <source>The trained checkpoint&apos;s folder (written whole at the end; never over an existing folder)</source>
        <translation>Der Ordner des trainierten Checkpoints (am Ende vollständig geschrieben; nie über einen bestehenden Ordner)</translation>
    </message>
    <message>
        <source>Browse…</source>
        <translation>Durchsuchen…</translation>
    </message>
    <message>
        <source>Folder for the trained checkpoint</source>
        <translation>Ordner für den trainierten Checkpoint</translation>
    </message>
    <message>
        <source>Method</source>
        <translation>Methode</translation>
    </message>
    <message>
        <source>Steps</source>
        <translation>Schritte</translation>
    </message>
    <message>
        <source>Learning rate</source>
        <translation>Lernrate</translation>
    </message>
    <message>
        <source>Batch</source>
        <translation>Batch</translation>
    </message>
    <message>
        <source>Sequence length</source>
        <translation>Sequenzlänge</translation>
    </message>
    <message>
        <source>Samples</source>
        <translation>Stichproben</translation>
    </message>
    <message>
        <source>Output folder</source>
        <translation>Ausgabeordner</translation>
    </message>
    <message>
        <source>Training</source>
        <translation>Training</translation>
    </message>
    <message>
        <source>Loss</source>
        <translation>Verlust</translation>
    </message>
    <message>
        <source>Each block&apos;s output error against the float model</source>
        <translation>Ausgabefehler jedes Blocks gegenüber dem Float-Modell</translation>
    </message>
    <message>
        <source>mean squared error</source>
        <translation>mittlerer quadratischer Fehler</translation>
    </message>
    <message>
        <source>Loss curve</source>
        <translation>Verlustkurve</translation>
    </message>
    <message>
        <source>Block fits</source>
        <translation>Block-Anpassungen</translation>
    </message>
    <message>
        <source>Learning-rate schedule</source>
        <translation>Lernratenverlauf</translation>
    </message>
    <message>
        <source>Steps per block</source>
        <translation>Schritte pro Block</translation>
    </message>
    <message>
        <source>QAT trains the whole model at once: no block fits</source>
        <translation>QAT trainiert das ganze Modell auf einmal: keine Block-Anpassungen</translation>
    </message>
    <message>
        <source>Block-wise methods fit each block to the float model (see Block fits); the held-out loss before and after is in the summary</source>
        <translation>Blockweise Methoden passen jeden Block an das Float-Modell an (siehe Block-Anpassungen); der Validierungsverlust vorher und nachher steht in der Zusammenfassung</translation>
    </message>
    <message>
        <source>The loss curve appears here once training starts</source>
        <translation>Die Verlustkurve erscheint hier, sobald das Training beginnt</translation>
    </message>
    <message>
        <source>step (each block runs this schedule)</source>
        <translation>Schritt (jeder Block durchläuft diesen Verlauf)</translation>
    </message>
    <message>
        <source>step</source>
        <translation>Schritt</translation>
    </message>
    <message>
        <source>Run: %1 (%2)
Checkpoint: %3</source>
        <translation>Lauf: %1 (%2)
Checkpoint: %3</translation>
    </message>
    <message>
        <source>The run&apos;s checkpoint (%1) is gone: there is nothing to fine-tune. Run its plan again on the Runs page.</source>
        <translation>Der Checkpoint des Laufs (%1) ist nicht mehr vorhanden: Es gibt nichts für das Fine-Tuning. Führen Sie seinen Plan auf der Seite „Läufe“ erneut aus.</translation>
    </message>
    <message>
        <source>none was kept</source>
        <translation>es wurde keiner aufbewahrt</translation>
    </message>
    <message>
        <source>%1 fits each block to the float model&apos;s outputs, and the float model this checkpoint was quantized from (%2) is gone. QAT (end to end) needs no float model: use it instead, or put the float model back.</source>
        <translation>%1 passt jeden Block an die Ausgaben des Float-Modells an, und das Float-Modell, aus dem dieser Checkpoint quantisiert wurde (%2), ist nicht mehr vorhanden. QAT (Ende-zu-Ende) braucht kein Float-Modell: Verwenden Sie stattdessen QAT, oder legen Sie das Float-Modell zurück.</translation>
    </message>
    <message>
        <source>not recorded</source>
        <translation>nicht erfasst</translation>
    </message>
    <message>
        <source>Or leave it empty: no held-out loss, and the last step is kept.</source>
        <translation>Oder lassen Sie es leer: kein Validierungsverlust, und der letzte Schritt wird behalten.</translation>
    </message>
    <message>
        <source>Learning rate: “%1” is not a number above 0 and at most 1 (e.g. 2e-5).</source>
        <translation>Lernrate: „%1“ ist keine Zahl über 0 und höchstens 1 (z. B. 2e-5).</translation>
    </message>
    <message>
        <source>Output folder: not set. The trained checkpoint needs a folder of its own.</source>
        <translation>Ausgabeordner: nicht gesetzt. Der trainierte Checkpoint braucht einen eigenen Ordner.</translation>
    </message>
    <message>
        <source>Output folder: %1 exists already. Choose another: nothing is written over a folder.</source>
        <translation>Ausgabeordner: %1 existiert bereits. Wählen Sie einen anderen: Ein bestehender Ordner wird nie überschrieben.</translation>
    </message>
    <message>
        <source>The Runs page&apos;s evaluation text: %1. The trained run is evaluated as the page&apos;s runs are: set the Evaluation text on the Runs page.</source>
        <translation>Der Evaluierungstext der Seite „Läufe“: %1. Der trainierte Lauf wird wie die Läufe dieser Seite evaluiert: Legen Sie den Evaluierungstext auf der Seite „Läufe“ fest.</translation>
    </message>
    <message>
        <source>%1 + %2</source>
        <translation>%1 + %2</translation>
    </message>
    <message>
        <source>starting</source>
        <translation>wird gestartet</translation>
    </message>
    <message>
        <source>loading</source>
        <translation>wird geladen</translation>
    </message>
    <message>
        <source>stopping after this step…</source>
        <translation>wird nach diesem Schritt angehalten…</translation>
    </message>
    <message>
        <source>cancelling…</source>
        <translation>wird abgebrochen…</translation>
    </message>
    <message>
        <source>cancelled</source>
        <translation>abgebrochen</translation>
    </message>
    <message>
        <source>Cancelled: nothing was written, and “%1” stays as it was.</source>
        <translation>Abgebrochen: Es wurde nichts geschrieben, und „%1“ bleibt unverändert.</translation>
    </message>
    <message>
        <source>Fine-tuning “%1” was cancelled</source>
        <translation>Das Fine-Tuning von „%1“ wurde abgebrochen</translation>
    </message>
    <message>
        <source>the trained run was not saved (%1)</source>
        <translation>der trainierte Lauf wurde nicht gespeichert (%1)</translation>
    </message>
    <message>
        <source>failed</source>
        <translation>fehlgeschlagen</translation>
    </message>
    <message>
        <source>Failed: %1

Nothing was written; “%2” stays as it was.</source>
        <translation>Fehlgeschlagen: %1

Es wurde nichts geschrieben; „%2“ bleibt unverändert.</translation>
    </message>
    <message>
        <source>stopped early; kept</source>
        <translation>vorzeitig angehalten; behalten</translation>
    </message>
    <message>
        <source>done</source>
        <translation>fertig</translation>
    </message>
    <message>
        <source>%1 of %2 blocks fitted in %3 s%4; %5 closer to the float model.</source>
        <translation>%1 von %2 Blöcken in %3 s angepasst%4; %5 näher am Float-Modell.</translation>
    </message>
    <message>
        <source> (stopped early: the rest pass through)</source>
        <translation> (vorzeitig angehalten: die übrigen bleiben unverändert)</translation>
    </message>
    <message>
        <source>Stopped at step %1 of %2 after %3 s.</source>
        <translation>Bei Schritt %1 von %2 nach %3 s angehalten.</translation>
    </message>
    <message>
        <source>%1 of %2 steps in %3 s.</source>
        <translation>%1 von %2 Schritten in %3 s.</translation>
    </message>
    <message>
        <source>Held-out loss %1 → %2 (best at step %3%4).</source>
        <translation>Validierungsverlust %1 → %2 (Bestwert bei Schritt %3%4).</translation>
    </message>
    <message>
        <source>, kept</source>
        <translation>, behalten</translation>
    </message>
    <message>
        <source>Held-out loss %1 → %2.</source>
        <translation>Validierungsverlust %1 → %2.</translation>
    </message>
    <message>
        <source>Perplexity %1 → %2 (before → after tuning).</source>
        <translation>Perplexität %1 → %2 (vor → nach dem Tuning).</translation>
    </message>
    <message>
        <source>Perplexity after tuning: %1.</source>
        <translation>Perplexität nach dem Tuning: %1.</translation>
    </message>
    <message>
        <source>KLD against the float model %1 → %2.</source>
        <translation>KLD zum Float-Modell %1 → %2.</translation>
    </message>
    <message>
        <source>KLD against the float model: %1.</source>
        <translation>KLD zum Float-Modell: %1.</translation>
    </message>
    <message>
        <source>Saved as “%1” in %2; it is in the Runs table below “%3”.</source>
        <translation>Gespeichert als „%1“ in %2; er steht in der Tabelle der Läufe unter „%3“.</translation>
    </message>
    <message>
        <source>Warnings: %1</source>
        <translation>Warnungen: %1</translation>
    </message>
    <message>
        <source>Quantized head fitted to the float model&apos;s distributions: KL %1 → %2.</source>
        <translation>Quantisierter Kopf an die Verteilungen des Float-Modells angepasst: KL %1 → %2.</translation>
    </message>
    <message>
        <source>Quantized head: its fit did not lower the KL divergence (%1 → %2); the start is kept.</source>
        <translation>Quantisierter Kopf: Die Anpassung senkte die KL-Divergenz nicht (%1 → %2); der Ausgangszustand bleibt.</translation>
    </message>
</context>
<context>
    <name>qs::GenerationPanel</name>
    <message>
        <source>Once upon a time</source>
        <translation>Once upon a time</translation>
    </message>
    <message>
        <source>prompt</source>
        <translation>Prompt</translation>
    </message>
    <message>
        <source>Greedy (temperature 0)</source>
        <translation>Greedy (Temperatur 0)</translation>
    </message>
    <message>
        <source>Both sides sample with the same seed, so they differ only where the models do.</source>
        <translation>Beide Seiten verwenden beim Sampling denselben Seed und unterscheiden sich daher nur dort, wo sich die Modelle unterscheiden.</translation>
    </message>
    <message>
        <source>Folder…</source>
        <translation>Ordner…</translation>
    </message>
    <message>
        <source>A quantized model folder written by QuantScope (quantscope-cli quantize --out)</source>
        <translation>Ein von QuantScope geschriebener Ordner mit quantisiertem Modell (quantscope-cli quantize --out)</translation>
    </message>
    <message>
        <source>Quantized Model Folder</source>
        <translation>Ordner mit quantisiertem Modell</translation>
    </message>
    <message>
        <source>Generate</source>
        <translation>Generieren</translation>
    </message>
    <message>
        <source>Stop</source>
        <translation>Anhalten</translation>
    </message>
    <message>
        <source>Max tokens</source>
        <translation>Max. Token</translation>
    </message>
    <message>
        <source>Temperature</source>
        <translation>Temperatur</translation>
    </message>
    <message>
        <source>Top-p</source>
        <translation>Top-p</translation>
    </message>
    <message>
        <source>Seed</source>
        <translation>Seed</translation>
    </message>
    <message>
        <source>Quantized model</source>
        <translation>Quantisiertes Modell</translation>
    </message>
    <message>
        <source>Prompt</source>
        <translation>Prompt</translation>
    </message>
    <message>
        <source>Generate with the float and a quantized model side by side</source>
        <translation>Mit dem Float-Modell und einem quantisierten Modell nebeneinander generieren</translation>
    </message>
    <message>
        <source>Float model</source>
        <translation>Float-Modell</translation>
    </message>
    <message>
        <source>%1 (%2, %3 bpw)</source>
        <translation>%1 (%2, %3 bpw)</translation>
    </message>
    <message>
        <source>Open a model to generate text.</source>
        <translation>Öffnen Sie ein Modell, um Text zu generieren.</translation>
    </message>
    <message>
        <source>No quantized model yet: run a plan (Plan › Run; it appears here when it finishes) or choose a quantized model folder. The float side generates on its own meanwhile.</source>
        <translation>Noch kein quantisiertes Modell: Führen Sie einen Plan aus (Plan › Ausführen; es erscheint hier, sobald er fertig ist) oder wählen Sie einen Ordner mit quantisiertem Modell. Bis dahin generiert die Float-Seite allein.</translation>
    </message>
    <message>
        <source>No quantized model chosen.</source>
        <translation>Kein quantisiertes Modell gewählt.</translation>
    </message>
    <message>
        <source>Generating…</source>
        <translation>Generierung läuft…</translation>
    </message>
    <message>
        <source>generating…</source>
        <translation>wird generiert…</translation>
    </message>
    <message>
        <source>loading the model…</source>
        <translation>Modell wird geladen…</translation>
    </message>
    <message numerus="yes">
        <source>%n token(s) · %1 tokens/s</source>
        <translation>
            <numerusform>%n Token · %1 Token/s</numerusform>
            <numerusform>%n Token · %1 Token/s</numerusform>
        </translation>
    </message>
    <message>
        <source>Stopped.</source>
        <translation>Angehalten.</translation>
    </message>
    <message>
        <source>Failed: %1</source>
        <translation>Fehlgeschlagen: %1</translation>
    </message>
    <message numerus="yes">
        <source>Both models generated the same %n token(s).</source>
        <translation>
            <numerusform>Beide Modelle haben dasselbe %n Token erzeugt.</numerusform>
            <numerusform>Beide Modelle haben dieselben %n Token erzeugt.</numerusform>
        </translation>
    </message>
    <message>
        <source>(end)</source>
        <translation>(Ende)</translation>
    </message>
    <message>
        <source>First divergence at generated token %1: float &lt;b&gt;%2&lt;/b&gt; vs quantized &lt;b&gt;%3&lt;/b&gt;</source>
        <translation>Erste Abweichung bei generiertem Token %1: Float &lt;b&gt;%2&lt;/b&gt; gegenüber quantisiert &lt;b&gt;%3&lt;/b&gt;</translation>
    </message>
</context>
<context>
    <name>qs::GuiBench</name>
    <message>
        <source>a run failed: %1</source>
        <translation>ein Lauf ist fehlgeschlagen: %1</translation>
    </message>
    <message>
        <source>the runs were not started (see the Runs page)</source>
        <translation>die Läufe wurden nicht gestartet (siehe Seite Läufe)</translation>
    </message>
    <message>
        <source>the sweep failed: %1</source>
        <translation>der Durchlauf ist fehlgeschlagen: %1</translation>
    </message>
    <message>
        <source>Export GGUF is not offered: %1</source>
        <translation>GGUF-Export wird nicht angeboten: %1</translation>
    </message>
    <message>
        <source>the export failed: %1</source>
        <translation>der Export ist fehlgeschlagen: %1</translation>
    </message>
    <message numerus="yes">
        <source>a run finished (%n left)</source>
        <translation>
            <numerusform>ein Lauf ist fertig (%n verbleibt)</numerusform>
            <numerusform>ein Lauf ist fertig (%n verbleiben)</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>qs::HeatmapRangeBox</name>
    <message>
        <source>The heatmap&apos;s colour scale (log): fixed, so a colour means the same value whichever rows are shown; values beyond it take the end colours</source>
        <translation>Die Farbskala der Heatmap (logarithmisch): fest, damit eine Farbe denselben Wert bedeutet, welche Zeilen auch gezeigt werden; Werte außerhalb erhalten die Endfarben</translation>
    </message>
    <message>
        <source>Colours from</source>
        <translation>Farben von</translation>
    </message>
    <message>
        <source>to</source>
        <translation>bis</translation>
    </message>
</context>
<context>
    <name>qs::LayerErrorBars</name>
    <message>
        <source>No per-layer measurements to show</source>
        <translation>Keine Messungen pro Schicht zum Anzeigen</translation>
    </message>
    <message>
        <source>%1
%2
%3: %4</source>
        <translation>%1
%2
%3: %4</translation>
    </message>
</context>
<context>
    <name>qs::LayerErrorHeatmap</name>
    <message>
        <source>%1
%2
%3: %4</source>
        <translation>%1
%2
%3: %4</translation>
    </message>
    <message>
        <source>n/a</source>
        <translation>k. A.</translation>
    </message>
    <message>
        <source>layer</source>
        <translation>Schicht</translation>
    </message>
    <message>
        <source>No per-layer measurements to show</source>
        <translation>Keine Messungen pro Schicht zum Anzeigen</translation>
    </message>
    <message>
        <source>× another type stored</source>
        <translation>× anderer Typ gespeichert</translation>
    </message>
    <message>
        <source>relative MSE ‖W − Ŵ‖² / ‖W‖², no unit</source>
        <translation>relativer MSE ‖W − Ŵ‖² / ‖W‖², ohne Einheit</translation>
    </message>
    <message>
        <source>relative MSE ‖XWᵀ − XŴᵀ‖² / ‖XWᵀ‖² on calibration inputs, no unit</source>
        <translation>relativer MSE ‖XWᵀ − XŴᵀ‖² / ‖XWᵀ‖² auf Kalibrierungseingaben, ohne Einheit</translation>
    </message>
    <message>
        <source>mean KLD in nats with only this layer quantized, from the sensitivity sweep</source>
        <translation>mittlere KLD in nats, nur diese Schicht quantisiert, aus dem Sensitivitätsdurchlauf</translation>
    </message>
    <message>
        <source>%1: %2</source>
        <translation>%1: %2</translation>
    </message>
    <message>
        <source>%1 (log scale, fixed; beyond it: end colours)</source>
        <translation>%1 (logarithmische Skala, fest; darüber hinaus: Endfarben)</translation>
    </message>
    <message>
        <source>weight error</source>
        <translation>Gewichtsfehler</translation>
    </message>
    <message>
        <source>output error</source>
        <translation>Ausgabefehler</translation>
    </message>
    <message>
        <source>KLD contribution</source>
        <translation>KLD-Beitrag</translation>
    </message>
</context>
<context>
    <name>qs::LearningRatePlot</name>
    <message>
        <source>step</source>
        <translation>Schritt</translation>
    </message>
    <message>
        <source>learning rate</source>
        <translation>Lernrate</translation>
    </message>
    <message>
        <source>No schedule</source>
        <translation>Kein Lernratenverlauf</translation>
    </message>
    <message>
        <source>schedule</source>
        <translation>Verlauf</translation>
    </message>
    <message>
        <source>step %1
learning rate %2</source>
        <translation>Schritt %1
Lernrate %2</translation>
    </message>
    <message>
        <source>now</source>
        <translation>jetzt</translation>
    </message>
    <message>
        <source>step %1 (now)
learning rate %2</source>
        <translation>Schritt %1 (jetzt)
Lernrate %2</translation>
    </message>
</context>
<context>
    <name>qs::LossSizePlot</name>
    <message>
        <source>model size (MB)</source>
        <translation>Modellgröße (MB)</translation>
    </message>
    <message>
        <source>perplexity</source>
        <translation>Perplexität</translation>
    </message>
    <message>
        <source>mean KLD to the float model</source>
        <translation>mittlere KLD zum Float-Modell</translation>
    </message>
    <message>
        <source>No evaluated runs to show</source>
        <translation>Keine evaluierten Läufe zum Anzeigen</translation>
    </message>
    <message>
        <source>Pareto front</source>
        <translation>Pareto-Front</translation>
    </message>
    <message>
        <source>decode tokens/s (measured)</source>
        <translation>Decode-Token/s (gemessen)</translation>
    </message>
    <message>
        <source>prefill tokens/s (measured)</source>
        <translation>Prefill-Token/s (gemessen)</translation>
    </message>
    <message>
        <source>weights in memory while running (MB, measured)</source>
        <translation>Gewichte im Speicher während der Ausführung (MB, gemessen)</translation>
    </message>
    <message>
        <source>bits per weight (whole model)</source>
        <translation>Bits pro Gewicht (ganzes Modell)</translation>
    </message>
    <message>
        <source>Δ perplexity vs float (paired error)</source>
        <translation>Δ Perplexität zu Float (gepaarter Fehler)</translation>
    </message>
    <message>
        <source>top-1 agreement with float (%)</source>
        <translation>Top-1-Übereinstimmung mit Float (%)</translation>
    </message>
    <message>
        <source>No shown run has both %1 and %2</source>
        <translation>Kein angezeigter Lauf hat sowohl %1 als auch %2</translation>
    </message>
    <message>
        <source>float model</source>
        <translation>Float-Modell</translation>
    </message>
    <message>
        <source>%1 (float)</source>
        <translation>%1 (Float)</translation>
    </message>
    <message>
        <source>%1: %2</source>
        <translation>%1: %2</translation>
    </message>
    <message>
        <source>%1: %2 by definition</source>
        <translation>%1: %2 per Definition</translation>
    </message>
</context>
<context>
    <name>qs::MainWindow</name>
    <message>
        <source>QuantScope</source>
        <translation>QuantScope</translation>
    </message>
    <message>
        <source>&lt;h2&gt;QuantScope&lt;/h2&gt;&lt;p&gt;Open a Hugging Face model folder with &lt;b&gt;File › Open Model…&lt;/b&gt; (Ctrl+O), pick one from &lt;b&gt;File › Open Recent&lt;/b&gt;, or drop a folder here.&lt;/p&gt;</source>
        <translation>&lt;h2&gt;QuantScope&lt;/h2&gt;&lt;p&gt;Öffnen Sie einen Hugging-Face-Modellordner mit &lt;b&gt;Datei › Modell öffnen…&lt;/b&gt; (Strg+O), wählen Sie einen unter &lt;b&gt;Datei › Zuletzt geöffnet&lt;/b&gt; oder ziehen Sie einen Ordner hierher.&lt;/p&gt;</translation>
    </message>
    <message>
        <source>Overview</source>
        <translation>Übersicht</translation>
    </message>
    <message>
        <source>Plan</source>
        <translation>Plan</translation>
    </message>
    <message>
        <source>Mixed precision</source>
        <translation>Gemischte Präzision</translation>
    </message>
    <message>
        <source>Run finished</source>
        <translation>Lauf abgeschlossen</translation>
    </message>
    <message>
        <source>Runs</source>
        <translation>Läufe</translation>
    </message>
    <message>
        <source>Tensors</source>
        <translation>Tensoren</translation>
    </message>
    <message>
        <source>Playground</source>
        <translation>Playground</translation>
    </message>
    <message>
        <source>Generate</source>
        <translation>Generieren</translation>
    </message>
    <message>
        <source>No model</source>
        <translation>Kein Modell</translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation>&amp;Datei</translation>
    </message>
    <message>
        <source>&amp;Open Model…</source>
        <translation>Modell ö&amp;ffnen…</translation>
    </message>
    <message>
        <source>Open &amp;GGUF File…</source>
        <translation>&amp;GGUF-Datei öffnen…</translation>
    </message>
    <message>
        <source>Open GGUF File</source>
        <translation>GGUF-Datei öffnen</translation>
    </message>
    <message>
        <source>GGUF models (*.gguf);;All files (*)</source>
        <translation>GGUF-Modelle (*.gguf);;Alle Dateien (*)</translation>
    </message>
    <message>
        <source>Open &amp;Recent</source>
        <translation>&amp;Zuletzt geöffnet</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>&amp;Beenden</translation>
    </message>
    <message>
        <source>&amp;Edit</source>
        <translation>&amp;Bearbeiten</translation>
    </message>
    <message>
        <source>&amp;Undo</source>
        <translation>&amp;Rückgängig</translation>
    </message>
    <message>
        <source>&amp;Redo</source>
        <translation>&amp;Wiederholen</translation>
    </message>
    <message>
        <source>&amp;Preferences…</source>
        <translation>&amp;Einstellungen…</translation>
    </message>
    <message>
        <source>Ctrl+,</source>
        <translation>Ctrl+,</translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation>&amp;Ansicht</translation>
    </message>
    <message>
        <source>&amp;Plan</source>
        <translation>&amp;Plan</translation>
    </message>
    <message>
        <source>&amp;Load Recipe…</source>
        <translation>Rezept &amp;laden…</translation>
    </message>
    <message>
        <source>&amp;Save Recipe…</source>
        <translation>Rezept &amp;speichern…</translation>
    </message>
    <message>
        <source>&amp;Run Plan</source>
        <translation>Plan &amp;ausführen</translation>
    </message>
    <message>
        <source>Ctrl+R</source>
        <translation>Ctrl+R</translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation>&amp;Hilfe</translation>
    </message>
    <message>
        <source>&amp;Keyboard Shortcuts</source>
        <translation>&amp;Tastenkürzel</translation>
    </message>
    <message>
        <source>&amp;About QuantScope</source>
        <translation>Ü&amp;ber QuantScope</translation>
    </message>
    <message>
        <source>About &amp;Qt</source>
        <translation>Über &amp;Qt</translation>
    </message>
    <message>
        <source>Plan: %1 bpw</source>
        <translation>Plan: %1 bpw</translation>
    </message>
    <message>
        <source>Preferences</source>
        <translation>Einstellungen</translation>
    </message>
    <message>
        <source>Preferences saved</source>
        <translation>Einstellungen gespeichert</translation>
    </message>
    <message>
        <source>Data folder</source>
        <translation>Datenordner</translation>
    </message>
    <message>
        <source>Cache folder</source>
        <translation>Cache-Ordner</translation>
    </message>
    <message>
        <source>Session file</source>
        <translation>Sitzungsdatei</translation>
    </message>
    <message>
        <source>Settings</source>
        <translation>Einstellungsdatei</translation>
    </message>
    <message>
        <source>Open Model Folder</source>
        <translation>Modellordner öffnen</translation>
    </message>
    <message>
        <source>Loading %1…</source>
        <translation>%1 wird geladen…</translation>
    </message>
    <message>
        <source>Model: %1</source>
        <translation>Modell: %1</translation>
    </message>
    <message>
        <source>Cannot open model</source>
        <translation>Modell kann nicht geöffnet werden</translation>
    </message>
    <message>
        <source>run %1</source>
        <translation>Lauf %1</translation>
    </message>
    <message>
        <source>%1 queued (Runs page)</source>
        <translation>%1 eingereiht (Seite „Läufe“)</translation>
    </message>
    <message>
        <source>%1 — QuantScope</source>
        <translation>%1 — QuantScope</translation>
    </message>
    <message>
        <source>Model: %1 · %2 parameters · %3</source>
        <translation>Modell: %1 · %2 Parameter · %3</translation>
    </message>
    <message>
        <source>Cannot export</source>
        <translation>Export nicht möglich</translation>
    </message>
    <message>
        <source>Export &amp;GGUF…</source>
        <translation>&amp;GGUF exportieren…</translation>
    </message>
    <message>
        <source>Run finished with warnings: %1</source>
        <translation>Lauf abgeschlossen, mit Warnungen: %1</translation>
    </message>
    <message>
        <source>The language changes when QuantScope starts again.</source>
        <translation>Die Sprache ändert sich beim nächsten Start von QuantScope.</translation>
    </message>
    <message>
        <source>Runs kept in</source>
        <translation>Läufe aufbewahrt in</translation>
    </message>
    <message>
        <source>memory only</source>
        <translation>nur im Arbeitsspeicher</translation>
    </message>
    <message>
        <source>RTN int4 g128</source>
        <translation>RTN int4 g128</translation>
    </message>
    <message>
        <source>GPTQ int4 g128</source>
        <translation>GPTQ int4 g128</translation>
    </message>
    <message>
        <source>Q4_K</source>
        <translation>Q4_K</translation>
    </message>
    <message>
        <source>Cannot compare the methods</source>
        <translation>Die Methoden können nicht verglichen werden</translation>
    </message>
    <message>
        <source>Three runs queued: RTN, GPTQ and Q4_K</source>
        <translation>Drei Läufe eingereiht: RTN, GPTQ und Q4_K</translation>
    </message>
    <message>
        <source>Export &amp;Hugging Face (GPTQ/AWQ)…</source>
        <translation>&amp;Hugging Face exportieren (GPTQ/AWQ)…</translation>
    </message>
    <message>
        <source>llama-quantize &amp;Command…</source>
        <translation>llama-quantize-&amp;Befehl…</translation>
    </message>
    <message>
        <source>Write the plan as a GGUF file llama.cpp runs (gguf and float layers)</source>
        <translation>Den Plan als GGUF-Datei schreiben, die llama.cpp ausführt (gguf- und Float-Schichten)</translation>
    </message>
    <message>
        <source>Write the last run of the plan as a Hugging Face %1 checkpoint</source>
        <translation>Den letzten Lauf des Plans als Hugging-Face-%1-Checkpoint schreiben</translation>
    </message>
    <message>
        <source>tokenizer: see the Overview</source>
        <translation>Tokenizer: siehe Übersicht</translation>
    </message>
    <message>
        <source>&amp;Teaching Mode</source>
        <translation>&amp;Lehrmodus</translation>
    </message>
    <message>
        <source>Full screen with every page enlarged for a projector (F11)</source>
        <translation>Vollbild, jede Seite für einen Projektor vergrößert (F11)</translation>
    </message>
    <message>
        <source>Fine-tuning finished: the tuned run is in the Runs table</source>
        <translation>Fine-Tuning abgeschlossen: Der abgestimmte Lauf steht in der Tabelle der Läufe</translation>
    </message>
    <message>
        <source>Fine-tuning finished with warnings: %1</source>
        <translation>Fine-Tuning abgeschlossen, mit Warnungen: %1</translation>
    </message>
</context>
<context>
    <name>qs::MemoryPlot</name>
    <message>
        <source>embeddings</source>
        <translation>Embeddings</translation>
    </message>
    <message>
        <source>attention</source>
        <translation>Attention</translation>
    </message>
    <message>
        <source>MLP</source>
        <translation>MLP</translation>
    </message>
    <message>
        <source>output head</source>
        <translation>Ausgabekopf</translation>
    </message>
    <message>
        <source>norms &amp; other</source>
        <translation>Normen &amp; Sonstiges</translation>
    </message>
    <message>
        <source>scales/zeros/outliers</source>
        <translation>Skalen/Nullpunkte/Ausreißer</translation>
    </message>
    <message>
        <source>memory (MB)</source>
        <translation>Speicher (MB)</translation>
    </message>
    <message>
        <source>No runs with a memory breakdown</source>
        <translation>Keine Läufe mit Speicheraufschlüsselung</translation>
    </message>
    <message>
        <source>%1
(float)</source>
        <translation>%1
(Float)</translation>
    </message>
    <message>
        <source>%1
%2: %3 MB (%4 %)</source>
        <translation>%1
%2: %3 MB (%4 %)</translation>
    </message>
</context>
<context>
    <name>qs::MemoryStatus</name>
    <message>
        <source>Memory this process uses (resident set) and memory the system can still give</source>
        <translation>Speicher, den dieser Prozess belegt (Resident Set), und Speicher, den das System noch bereitstellen kann</translation>
    </message>
    <message>
        <source>Memory: unknown</source>
        <translation>Speicher: unbekannt</translation>
    </message>
    <message>
        <source>Memory: %1 used · %2 free</source>
        <translation>Speicher: %1 belegt · %2 frei</translation>
    </message>
    <message>
        <source>?</source>
        <translation>?</translation>
    </message>
</context>
<context>
    <name>qs::MixedPrecisionPanel</name>
    <message>
        <source> chunks of 128 tokens</source>
        <translation> Abschnitte à 128 Token</translation>
    </message>
    <message>
        <source>Run sweep</source>
        <translation>Analyse starten</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <source>Load results…</source>
        <translation>Ergebnisse laden…</translation>
    </message>
    <message>
        <source>Save results…</source>
        <translation>Ergebnisse speichern…</translation>
    </message>
    <message>
        <source>Measure how much each layer suffers from each scheme, one layer at a time.</source>
        <translation>Messen, wie stark jede Schicht unter jedem Schema leidet, eine Schicht nach der anderen.</translation>
    </message>
    <message>
        <source>Schemes</source>
        <translation>Schemata</translation>
    </message>
    <message>
        <source>Evaluation text</source>
        <translation>Evaluierungstext</translation>
    </message>
    <message>
        <source>Calibration text</source>
        <translation>Kalibrierungstext</translation>
    </message>
    <message>
        <source>Sample</source>
        <translation>Stichprobe</translation>
    </message>
    <message>
        <source>Sensitivity sweep</source>
        <translation>Sensitivitätsanalyse</translation>
    </message>
    <message>
        <source>KLD when only this layer is quantized</source>
        <translation>KLD, wenn nur diese Schicht quantisiert ist</translation>
    </message>
    <message>
        <source>Layers by sensitivity</source>
        <translation>Schichten nach Sensitivität</translation>
    </message>
    <message>
        <source>Apply plan</source>
        <translation>Plan übernehmen</translation>
    </message>
    <message>
        <source>Layer</source>
        <translation>Schicht</translation>
    </message>
    <message>
        <source>Scheme</source>
        <translation>Schema</translation>
    </message>
    <message>
        <source>bpw</source>
        <translation>bpw</translation>
    </message>
    <message>
        <source>KLD alone</source>
        <translation>KLD allein</translation>
    </message>
    <message>
        <source>Budget:</source>
        <translation>Budget:</translation>
    </message>
    <message>
        <source>Scheme:</source>
        <translation>Schema:</translation>
    </message>
    <message>
        <source>Cannot start the sweep</source>
        <translation>Die Analyse kann nicht gestartet werden</translation>
    </message>
    <message>
        <source> — about %1 s left</source>
        <translation> — noch etwa %1 s</translation>
    </message>
    <message>
        <source>Starting…</source>
        <translation>Wird gestartet…</translation>
    </message>
    <message>
        <source>Cancelling after the current layer…</source>
        <translation>Abbruch nach der aktuellen Schicht…</translation>
    </message>
    <message>
        <source>Sweep failed: %1</source>
        <translation>Analyse fehlgeschlagen: %1</translation>
    </message>
    <message>
        <source>Sensitivity sweep failed</source>
        <translation>Sensitivitätsanalyse fehlgeschlagen</translation>
    </message>
    <message numerus="yes">
        <source>Cancelled: %n measurement(s) kept; Run sweep continues from there.</source>
        <translation>
            <numerusform>Abgebrochen: %n Messung behalten; „Analyse starten“ macht dort weiter.</numerusform>
            <numerusform>Abgebrochen: %n Messungen behalten; „Analyse starten“ macht dort weiter.</numerusform>
        </translation>
    </message>
    <message>
        <source>cancelled</source>
        <translation>abgebrochen</translation>
    </message>
    <message>
        <source>Sweep done: %1 measurements in %2 s, base perplexity %3 on %4 tokens.</source>
        <translation>Analyse fertig: %1 Messungen in %2 s, Basis-Perplexität %3 auf %4 Token.</translation>
    </message>
    <message>
        <source>These sensitivity results were measured on another model (%1).</source>
        <translation>Diese Sensitivitätsergebnisse wurden an einem anderen Modell gemessen (%1).</translation>
    </message>
    <message>
        <source>KLD</source>
        <translation>KLD</translation>
    </message>
    <message>
        <source>proposal</source>
        <translation>Vorschlag</translation>
    </message>
    <message>
        <source>mixed %1 bpw</source>
        <translation>gemischt %1 bpw</translation>
    </message>
    <message>
        <source>Apply mixed-precision plan (%1 bpw)</source>
        <translation>Plan mit gemischter Präzision übernehmen (%1 bpw)</translation>
    </message>
    <message>
        <source>Cannot apply the plan</source>
        <translation>Der Plan kann nicht übernommen werden</translation>
    </message>
    <message>
        <source>Load Sensitivity Results</source>
        <translation>Sensitivitätsergebnisse laden</translation>
    </message>
    <message>
        <source>JSON (*.json)</source>
        <translation>JSON (*.json)</translation>
    </message>
    <message>
        <source>Loaded %1</source>
        <translation>%1 geladen</translation>
    </message>
    <message>
        <source>Cannot load the sensitivity results</source>
        <translation>Die Sensitivitätsergebnisse können nicht geladen werden</translation>
    </message>
    <message>
        <source>Save Sensitivity Results</source>
        <translation>Sensitivitätsergebnisse speichern</translation>
    </message>
    <message>
        <source>Cannot save the sensitivity results</source>
        <translation>Die Sensitivitätsergebnisse können nicht gespeichert werden</translation>
    </message>
    <message>
        <source>Mixed precision</source>
        <translation>Gemischte Präzision</translation>
    </message>
    <message>
        <source>Stored as</source>
        <translation>Gespeichert als</translation>
    </message>
    <message>
        <source>The type llama-quantize really stores: a k-quant whose block does not divide a layer&apos;s rows falls back to another type (or F16)</source>
        <translation>Der Typ, den llama-quantize tatsächlich speichert: Ein k-Quant, dessen Block die Zeilen einer Schicht nicht teilt, weicht auf einen anderen Typ (oder F16) aus</translation>
    </message>
    <message>
        <source>stored as %1: %2</source>
        <translation>gespeichert als %1: %2</translation>
    </message>
    <message>
        <source>KLD when only this layer is quantized
× measured with llama.cpp&apos;s fallback type, not the scheme&apos;s (hover for which)</source>
        <translation>KLD, wenn nur diese Schicht quantisiert ist
× mit dem Ausweichtyp von llama.cpp gemessen, nicht mit dem des Schemas (Mauszeiger zeigt welchen)</translation>
    </message>
    <message>
        <source>sweep run in QuantScope</source>
        <translation>in QuantScope ausgeführter Sweep</translation>
    </message>
    <message>
        <source>complete the sweep to allocate</source>
        <translation>zum Zuteilen erst den Sweep abschließen</translation>
    </message>
    <message>
        <source> bpw</source>
        <translation> bpw</translation>
    </message>
    <message>
        <source>→ plan %1 bpw, predicted KLD %2</source>
        <translation>→ Plan %1 bpw, vorhergesagte KLD %2</translation>
    </message>
</context>
<context>
    <name>qs::ParetoFrontPlot</name>
    <message>
        <source>Predicted trade-off</source>
        <translation>Vorhergesagter Kompromiss</translation>
    </message>
    <message>
        <source>bits per weight (swept layers)</source>
        <translation>Bits pro Gewicht (analysierte Schichten)</translation>
    </message>
    <message>
        <source>predicted %1 (sum over layers)</source>
        <translation>vorhergesagte %1 (Summe über die Schichten)</translation>
    </message>
    <message>
        <source>loss</source>
        <translation>Verlust</translation>
    </message>
    <message>
        <source>Run or load a sensitivity sweep to see the trade-off</source>
        <translation>Führen Sie eine Sensitivitätsanalyse aus oder laden Sie eine, um den Kompromiss zu sehen</translation>
    </message>
    <message>
        <source>mixed plan
%1 bpw
predicted %2</source>
        <translation>gemischter Plan
%1 bpw
vorhergesagt %2</translation>
    </message>
    <message>
        <source>mixed plans (Pareto front)</source>
        <translation>gemischte Pläne (Pareto-Front)</translation>
    </message>
    <message>
        <source>uniform %1
%2 bpw
predicted %3</source>
        <translation>einheitlich %1
%2 bpw
vorhergesagt %3</translation>
    </message>
    <message>
        <source>uniform plans</source>
        <translation>einheitliche Pläne</translation>
    </message>
    <message>
        <source>measured %1
%2 bpw
%3</source>
        <translation>gemessen %1
%2 bpw
%3</translation>
    </message>
    <message>
        <source>measured (quantized and evaluated)</source>
        <translation>gemessen (quantisiert und evaluiert)</translation>
    </message>
    <message>
        <source>proposed at %1 bpw</source>
        <translation>vorgeschlagen bei %1 bpw</translation>
    </message>
</context>
<context>
    <name>qs::PlanDocument</name>
    <message>
        <source>Open a model before editing its plan.</source>
        <translation>Öffnen Sie ein Modell, bevor Sie seinen Plan bearbeiten.</translation>
    </message>
    <message>
        <source>Add rule %1</source>
        <translation>Regel %1 hinzufügen</translation>
    </message>
    <message>
        <source>Remove rule %1</source>
        <translation>Regel %1 entfernen</translation>
    </message>
    <message>
        <source>Move rule %1</source>
        <translation>Regel %1 verschieben</translation>
    </message>
    <message>
        <source>Load recipe %1</source>
        <translation>Rezept %1 laden</translation>
    </message>
</context>
<context>
    <name>qs::PlanExporter</name>
    <message>
        <source>Cannot save</source>
        <translation>Speichern nicht möglich</translation>
    </message>
    <message>
        <source>Export GGUF</source>
        <translation>GGUF exportieren</translation>
    </message>
    <message>
        <source>GGUF models (*.gguf)</source>
        <translation>GGUF-Modelle (*.gguf)</translation>
    </message>
    <message>
        <source>an export is already running</source>
        <translation>es läuft bereits ein Export</translation>
    </message>
    <message>
        <source>no model is open</source>
        <translation>kein Modell geöffnet</translation>
    </message>
    <message>
        <source>Writing %1…</source>
        <translation>%1 wird geschrieben…</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <source>Open a model first.</source>
        <translation>Öffnen Sie zuerst ein Modell.</translation>
    </message>
    <message>
        <source>Layer %1 (%2): %3</source>
        <translation>Schicht %1 (%2): %3</translation>
    </message>
    <message>
        <source>Run the plan first (Plan › Run Plan): the checkpoint holds a run&apos;s quantized weights.</source>
        <translation>Führen Sie den Plan zuerst aus (Plan › Plan ausführen): Der Checkpoint enthält die quantisierten Gewichte eines Laufs.</translation>
    </message>
    <message>
        <source>The plan changed since its last run: run it again to export it.</source>
        <translation>Der Plan hat sich seit seinem letzten Lauf geändert: Führen Sie ihn erneut aus, um ihn zu exportieren.</translation>
    </message>
    <message>
        <source>llama-quantize Command</source>
        <translation>llama-quantize-Befehl</translation>
    </message>
    <message>
        <source>llama-quantize gives a GGUF file the types of this plan with this command (the base type applies to every tensor no rule names). Each argument is quoted for a POSIX shell.</source>
        <translation>Mit diesem Befehl gibt llama-quantize einer GGUF-Datei die Typen dieses Plans (der Basistyp gilt für jeden Tensor, den keine Regel nennt). Jedes Argument ist für eine POSIX-Shell maskiert.</translation>
    </message>
    <message>
        <source>Program</source>
        <translation>Programm</translation>
    </message>
    <message>
        <source>Input (F16 GGUF)</source>
        <translation>Eingabe (F16-GGUF)</translation>
    </message>
    <message>
        <source>Output</source>
        <translation>Ausgabe</translation>
    </message>
    <message>
        <source>Importance matrix</source>
        <translation>Wichtigkeitsmatrix</translation>
    </message>
    <message>
        <source>optional: llama-imatrix or quantscope-cli imatrix output</source>
        <translation>optional: Ausgabe von llama-imatrix oder quantscope-cli imatrix</translation>
    </message>
    <message>
        <source># the input does not exist yet; make it first:</source>
        <translation># die Eingabe gibt es noch nicht; zuerst erzeugen:</translation>
    </message>
    <message>
        <source># no layer of this plan maps to a GGUF type</source>
        <translation># keine Schicht dieses Plans entspricht einem GGUF-Typ</translation>
    </message>
    <message>
        <source>Copy</source>
        <translation>Kopieren</translation>
    </message>
    <message>
        <source>Copy the command to the clipboard</source>
        <translation>Den Befehl in die Zwischenablage kopieren</translation>
    </message>
    <message>
        <source>Save Command</source>
        <translation>Befehl speichern</translation>
    </message>
    <message>
        <source>Shell scripts (*.sh)</source>
        <translation>Shell-Skripte (*.sh)</translation>
    </message>
    <message>
        <source>Export Hugging Face Checkpoint (new folder)</source>
        <translation>Hugging-Face-Checkpoint exportieren (neuer Ordner)</translation>
    </message>
    <message>
        <source>Wrote %1: %2, the plan&apos;s estimate %3</source>
        <translation>%1 geschrieben: %2, Schätzung des Plans %3</translation>
    </message>
    <message>
        <source>GGUF Export: %1</source>
        <translation>GGUF-Export: %1</translation>
    </message>
    <message>
        <source>Wrote the %1 checkpoint %2: %3 quantized and %4 float layers, %5</source>
        <translation>%1-Checkpoint %2 geschrieben: %3 quantisierte und %4 Float-Schichten, %5</translation>
    </message>
    <message>
        <source>Export cancelled</source>
        <translation>Export abgebrochen</translation>
    </message>
    <message>
        <source>llama-quantize will not give these layers the plan&apos;s types (Export GGUF writes them exactly):
%1</source>
        <translation>llama-quantize gibt diesen Schichten nicht die Typen des Plans („GGUF exportieren“ schreibt sie genau so):
%1</translation>
    </message>
</context>
<context>
    <name>qs::PlanPage</name>
    <message>
        <source>Cannot change the plan</source>
        <translation>Der Plan kann nicht geändert werden</translation>
    </message>
    <message>
        <source>Apply preset</source>
        <translation>Vorlage anwenden</translation>
    </message>
    <message>
        <source>Preset: %1</source>
        <translation>Vorlage: %1</translation>
    </message>
    <message>
        <source>Cannot apply the preset</source>
        <translation>Die Vorlage kann nicht angewendet werden</translation>
    </message>
    <message>
        <source>Load recipe…</source>
        <translation>Rezept laden…</translation>
    </message>
    <message>
        <source>Save recipe…</source>
        <translation>Rezept speichern…</translation>
    </message>
    <message>
        <source>Preset:</source>
        <translation>Vorlage:</translation>
    </message>
    <message>
        <source>run name</source>
        <translation>Name des Laufs</translation>
    </message>
    <message>
        <source>Run</source>
        <translation>Ausführen</translation>
    </message>
    <message>
        <source>Quantize the model with this plan and evaluate it (a job: see the Runs page)</source>
        <translation>Das Modell mit diesem Plan quantisieren und evaluieren (ein Job: siehe Seite „Läufe“)</translation>
    </message>
    <message>
        <source>regex on layer names, e.g. mlp\.down_proj$ or layers\.(0|1)\.</source>
        <translation>regulärer Ausdruck auf Schichtnamen, z. B. mlp\.down_proj$ oder layers\.(0|1)\.</translation>
    </message>
    <message>
        <source>invalid: %1</source>
        <translation>ungültig: %1</translation>
    </message>
    <message numerus="yes">
        <source>%n layer(s) match</source>
        <translation>
            <numerusform>%n Schicht passt</numerusform>
            <numerusform>%n Schichten passen</numerusform>
        </translation>
    </message>
    <message>
        <source>(keep)</source>
        <translation>(beibehalten)</translation>
    </message>
    <message>
        <source>symmetric</source>
        <translation>symmetrisch</translation>
    </message>
    <message>
        <source>asymmetric</source>
        <translation>asymmetrisch</translation>
    </message>
    <message>
        <source>Add rule</source>
        <translation>Regel hinzufügen</translation>
    </message>
    <message>
        <source>Match (last match wins)</source>
        <translation>Muster (letzter Treffer gilt)</translation>
    </message>
    <message>
        <source>Sets</source>
        <translation>Setzt</translation>
    </message>
    <message>
        <source>Remove rule</source>
        <translation>Regel entfernen</translation>
    </message>
    <message>
        <source>Cannot remove the rule</source>
        <translation>Die Regel kann nicht entfernt werden</translation>
    </message>
    <message>
        <source>Rules</source>
        <translation>Regeln</translation>
    </message>
    <message>
        <source>Cannot add the rule</source>
        <translation>Die Regel kann nicht hinzugefügt werden</translation>
    </message>
    <message>
        <source>Choose at least one field the rule sets (method, bits, group or symmetry).</source>
        <translation>Wählen Sie mindestens ein Feld, das die Regel setzt (Methode, Bits, Gruppe oder Symmetrie).</translation>
    </message>
    <message>
        <source>&lt;b&gt;%1&lt;/b&gt; → &lt;b&gt;%2&lt;/b&gt; (%3 % of the original) · linear layers at &lt;b&gt;%4&lt;/b&gt; bits per weight · whole model %5 bpw · estimated memory to quantize: %6</source>
        <translation>&lt;b&gt;%1&lt;/b&gt; → &lt;b&gt;%2&lt;/b&gt; (%3 % des Originals) · lineare Schichten mit &lt;b&gt;%4&lt;/b&gt; Bits pro Gewicht · ganzes Modell %5 bpw · geschätzter Speicherbedarf beim Quantisieren: %6</translation>
    </message>
    <message>
        <source>Rules that match no layer of this model: %1</source>
        <translation>Regeln, die auf keine Schicht dieses Modells passen: %1</translation>
    </message>
    <message>
        <source>Load Recipe</source>
        <translation>Rezept laden</translation>
    </message>
    <message>
        <source>Recipes (*.json)</source>
        <translation>Rezepte (*.json)</translation>
    </message>
    <message>
        <source>Cannot load the recipe</source>
        <translation>Das Rezept kann nicht geladen werden</translation>
    </message>
    <message>
        <source>Save Recipe</source>
        <translation>Rezept speichern</translation>
    </message>
    <message>
        <source>Recipe saved to %1</source>
        <translation>Rezept gespeichert unter %1</translation>
    </message>
    <message>
        <source>Cannot save the recipe</source>
        <translation>Das Rezept kann nicht gespeichert werden</translation>
    </message>
    <message>
        <source>The ggml type the matched layers get</source>
        <translation>Der ggml-Typ, den die passenden Schichten erhalten</translation>
    </message>
    <message>
        <source>Bits per weight</source>
        <translation>Bits pro Gewicht</translation>
    </message>
    <message>
        <source>Choose a preset to apply…</source>
        <translation>Vorlage zum Anwenden wählen…</translation>
    </message>
</context>
<context>
    <name>qs::PlanTableModel</name>
    <message>
        <source>head</source>
        <translation>Kopf</translation>
    </message>
    <message>
        <source>Layer</source>
        <translation>Schicht</translation>
    </message>
    <message>
        <source>Block</source>
        <translation>Block</translation>
    </message>
    <message>
        <source>Kind</source>
        <translation>Art</translation>
    </message>
    <message>
        <source>Shape</source>
        <translation>Form</translation>
    </message>
    <message>
        <source>Parameters</source>
        <translation>Parameter</translation>
    </message>
    <message>
        <source>Method</source>
        <translation>Methode</translation>
    </message>
    <message>
        <source>Bits</source>
        <translation>Bits</translation>
    </message>
    <message>
        <source>Group</source>
        <translation>Gruppe</translation>
    </message>
    <message>
        <source>Sym</source>
        <translation>Sym.</translation>
    </message>
    <message>
        <source>Est. size</source>
        <translation>Gesch. Größe</translation>
    </message>
    <message>
        <source>bpw</source>
        <translation>bpw</translation>
    </message>
    <message>
        <source>Set by</source>
        <translation>Gesetzt durch</translation>
    </message>
    <message>
        <source>Weight rel. MSE</source>
        <translation>Rel. MSE Gewichte</translation>
    </message>
    <message>
        <source>Output rel. MSE</source>
        <translation>Rel. MSE Ausgabe</translation>
    </message>
    <message numerus="yes">
        <source>%n layers</source>
        <translation>
            <numerusform>%n Schicht</numerusform>
            <numerusform>%n Schichten</numerusform>
        </translation>
    </message>
    <message>
        <source>method %1</source>
        <translation>Methode %1</translation>
    </message>
    <message>
        <source>%1-bit</source>
        <translation>%1 Bit</translation>
    </message>
    <message>
        <source>group %1</source>
        <translation>Gruppe %1</translation>
    </message>
    <message>
        <source>symmetric</source>
        <translation>symmetrisch</translation>
    </message>
    <message>
        <source>asymmetric</source>
        <translation>asymmetrisch</translation>
    </message>
    <message>
        <source>Set %1 to %2</source>
        <translation>%1 auf %2 setzen</translation>
    </message>
    <message>
        <source>Measured by a run (Plan › Run Plan); empty until one finishes</source>
        <translation>Von einem Lauf gemessen (Plan › Plan ausführen); leer, bis einer fertig ist</translation>
    </message>
    <message>
        <source>Measured by the run “%1”; a layer whose scheme changed since shows none</source>
        <translation>Vom Lauf „%1“ gemessen; eine Schicht, deren Schema sich seither geändert hat, zeigt keinen Wert</translation>
    </message>
    <message>
        <source>Weight rel. MSE (%1)</source>
        <translation>Rel. MSE Gewichte (%1)</translation>
    </message>
    <message>
        <source>Output rel. MSE (%1)</source>
        <translation>Rel. MSE Ausgaben (%1)</translation>
    </message>
</context>
<context>
    <name>qs::PlaygroundErrorPlot</name>
    <message>
        <source>Error original − reconstructed (MSE %1)</source>
        <translation>Fehler Original − Rekonstruktion (MSE %1)</translation>
    </message>
    <message>
        <source>Quantization error</source>
        <translation>Quantisierungsfehler</translation>
    </message>
    <message>
        <source>error</source>
        <translation>Fehler</translation>
    </message>
    <message>
        <source>count</source>
        <translation>Anzahl</translation>
    </message>
    <message>
        <source>No errors to show</source>
        <translation>Keine Fehler zum Anzeigen</translation>
    </message>
    <message>
        <source>[%1, %2): %3 values</source>
        <translation>[%1, %2): %3 Werte</translation>
    </message>
    <message>
        <source>Error original − reconstructed (MSE A %1, B %2)</source>
        <translation>Fehler Original − Rekonstruktion (MSE A %1, B %2)</translation>
    </message>
    <message>
        <source>A: %1</source>
        <translation>A: %1</translation>
    </message>
    <message>
        <source>errors</source>
        <translation>Fehler</translation>
    </message>
    <message>
        <source>[%1, %2): A %3, B %4 values</source>
        <translation>[%1, %2): A %3, B %4 Werte</translation>
    </message>
    <message>
        <source>B: %1</source>
        <translation>B: %1</translation>
    </message>
</context>
<context>
    <name>qs::PlaygroundGptqCurvePlot</name>
    <message>
        <source>Output error</source>
        <translation>Ausgabefehler</translation>
    </message>
    <message>
        <source>columns quantized</source>
        <translation>quantisierte Spalten</translation>
    </message>
    <message>
        <source>‖(w − ŵ)X‖² / n</source>
        <translation>‖(w − ŵ)X‖² / n</translation>
    </message>
    <message>
        <source>No demonstration yet</source>
        <translation>Noch keine Vorführung</translation>
    </message>
    <message>
        <source>%1 columns
GPTQ %2
RTN %3</source>
        <translation>%1 Spalten
GPTQ %2
RTN %3</translation>
    </message>
    <message>
        <source>RTN (no feedback)</source>
        <translation>RTN (ohne Rückführung)</translation>
    </message>
    <message>
        <source>GPTQ (error fed back)</source>
        <translation>GPTQ (Fehler zurückgeführt)</translation>
    </message>
    <message>
        <source>SignRound (learned rounding)</source>
        <translation>SignRound (gelernte Rundung)</translation>
    </message>
</context>
<context>
    <name>qs::PlaygroundGptqRowPlot</name>
    <message>
        <source>GPTQ step %1 of %2</source>
        <translation>GPTQ-Schritt %1 von %2</translation>
    </message>
    <message>
        <source>GPTQ column by column</source>
        <translation>GPTQ Spalte für Spalte</translation>
    </message>
    <message>
        <source>column</source>
        <translation>Spalte</translation>
    </message>
    <message>
        <source>weight</source>
        <translation>Gewicht</translation>
    </message>
    <message>
        <source>Compute the layer&apos;s calibration statistics to start</source>
        <translation>Berechnen Sie zum Start die Kalibrierungsstatistik der Schicht</translation>
    </message>
    <message>
        <source>column %1
original %2
before %3 → after %4</source>
        <translation>Spalte %1
Original %2
vorher %3 → nachher %4</translation>
    </message>
    <message>
        <source>original</source>
        <translation>Original</translation>
    </message>
    <message>
        <source>before this step</source>
        <translation>vor diesem Schritt</translation>
    </message>
    <message>
        <source>after (updated)</source>
        <translation>nachher (aktualisiert)</translation>
    </message>
    <message>
        <source>quantized</source>
        <translation>quantisiert</translation>
    </message>
    <message>
        <source>change (right axis)</source>
        <translation>Änderung (rechte Achse)</translation>
    </message>
    <message>
        <source>change</source>
        <translation>Änderung</translation>
    </message>
    <message>
        <source>column %1 (this step)</source>
        <translation>Spalte %1 (dieser Schritt)</translation>
    </message>
</context>
<context>
    <name>qs::PlaygroundPairsPlot</name>
    <message>
        <source>Codebook points</source>
        <translation>Codebuch-Punkte</translation>
    </message>
    <message>
        <source>Codebook points — %1: %2</source>
        <translation>Codebuch-Punkte — %1: %2</translation>
    </message>
    <message>
        <source>first weight of the pair (rotated, V·w)</source>
        <translation>erstes Gewicht des Paars (rotiert, V·w)</translation>
    </message>
    <message>
        <source>first weight of the pair</source>
        <translation>erstes Gewicht des Paars</translation>
    </message>
    <message>
        <source>second weight (rotated)</source>
        <translation>zweites Gewicht (rotiert)</translation>
    </message>
    <message>
        <source>second weight</source>
        <translation>zweites Gewicht</translation>
    </message>
    <message>
        <source>The row has no pair to show</source>
        <translation>Die Zeile hat kein Paar zum Anzeigen</translation>
    </message>
    <message>
        <source>No row to show</source>
        <translation>Keine Zeile anzuzeigen</translation>
    </message>
    <message>
        <source>reachable points (%1 of %2 sums, sampled)</source>
        <translation>erreichbare Punkte (%1 von %2 Summen, Stichprobe)</translation>
    </message>
    <message>
        <source>reachable points (%1)</source>
        <translation>erreichbare Punkte (%1)</translation>
    </message>
    <message>
        <source>error</source>
        <translation>Fehler</translation>
    </message>
    <message>
        <source>weight pairs (%1)</source>
        <translation>Gewichtspaare (%1)</translation>
    </message>
    <message>
        <source>reconstructed</source>
        <translation>rekonstruiert</translation>
    </message>
    <message>
        <source>pair %1: (%2, %3) → (%4, %5)</source>
        <translation>Paar %1: (%2, %3) → (%4, %5)</translation>
    </message>
    <message>
        <source>vector %1</source>
        <translation>Vektor %1</translation>
    </message>
</context>
<context>
    <name>qs::PlaygroundPanel</name>
    <message>
        <source>Real weight row</source>
        <translation>Echte Gewichtszeile</translation>
    </message>
    <message>
        <source>Synthetic distribution</source>
        <translation>Synthetische Verteilung</translation>
    </message>
    <message>
        <source>Layer</source>
        <translation>Schicht</translation>
    </message>
    <message>
        <source>Row</source>
        <translation>Zeile</translation>
    </message>
    <message>
        <source>Gaussian</source>
        <translation>Gauß</translation>
    </message>
    <message>
        <source>Laplace</source>
        <translation>Laplace</translation>
    </message>
    <message>
        <source>Uniform</source>
        <translation>Gleichverteilt</translation>
    </message>
    <message>
        <source> σ</source>
        <translation> σ</translation>
    </message>
    <message>
        <source>Distribution</source>
        <translation>Verteilung</translation>
    </message>
    <message>
        <source>Values</source>
        <translation>Werte</translation>
    </message>
    <message>
        <source>Seed</source>
        <translation>Seed</translation>
    </message>
    <message>
        <source>Outliers</source>
        <translation>Ausreißer</translation>
    </message>
    <message>
        <source>Outlier size</source>
        <translation>Ausreißergröße</translation>
    </message>
    <message>
        <source>per channel (whole row)</source>
        <translation>pro Kanal (ganze Zeile)</translation>
    </message>
    <message>
        <source>Symmetric</source>
        <translation>Symmetrisch</translation>
    </message>
    <message>
        <source>Symmetric: the zero point is fixed at the middle code (GPTQ convention); asymmetric: it is chosen per group from the group&apos;s minimum.</source>
        <translation>Symmetrisch: Der Nullpunkt liegt fest auf dem mittleren Code (GPTQ-Konvention); asymmetrisch: Er wird pro Gruppe aus dem Minimum der Gruppe gewählt.</translation>
    </message>
    <message>
        <source>%1 + clipping search (MSE)</source>
        <translation>%1 + Clipping-Suche (MSE)</translation>
    </message>
    <message>
        <source>&lt;b&gt;%1&lt;/b&gt;: %2</source>
        <translation>&lt;b&gt;%1&lt;/b&gt;: %2</translation>
    </message>
    <message>
        <source>Not offered here — %1.</source>
        <translation>Hier nicht angeboten — %1.</translation>
    </message>
    <message>
        <source>The group whose quantization levels the plot draws</source>
        <translation>Die Gruppe, deren Quantisierungsstufen das Diagramm zeigt</translation>
    </message>
    <message>
        <source>Bits</source>
        <translation>Bits</translation>
    </message>
    <message>
        <source>Group size</source>
        <translation>Gruppengröße</translation>
    </message>
    <message>
        <source>Method</source>
        <translation>Methode</translation>
    </message>
    <message>
        <source>Levels of group</source>
        <translation>Stufen der Gruppe</translation>
    </message>
    <message>
        <source>Quantization</source>
        <translation>Quantisierung</translation>
    </message>
    <message>
        <source>MSE</source>
        <translation>MSE</translation>
    </message>
    <message>
        <source>SNR</source>
        <translation>SNR</translation>
    </message>
    <message>
        <source>Max |error|</source>
        <translation>Max. |Fehler|</translation>
    </message>
    <message>
        <source>Storage</source>
        <translation>Speicherbedarf</translation>
    </message>
    <message>
        <source>Bits per weight</source>
        <translation>Bits pro Gewicht</translation>
    </message>
    <message>
        <source>Result</source>
        <translation>Ergebnis</translation>
    </message>
    <message>
        <source>&amp;Presentation Mode</source>
        <translation>&amp;Präsentationsmodus</translation>
    </message>
    <message>
        <source>Ctrl+Shift+P</source>
        <translation>Ctrl+Shift+P</translation>
    </message>
    <message>
        <source>Large fonts and lines for a projector (F5)</source>
        <translation>Große Schrift und dicke Linien für den Beamer (F5)</translation>
    </message>
    <message>
        <source>Presentation mode</source>
        <translation>Präsentationsmodus</translation>
    </message>
    <message>
        <source>No model is loaded: open one to pick a real row (synthetic rows work without one).</source>
        <translation>Kein Modell geladen: Öffnen Sie eines, um eine echte Zeile zu wählen (synthetische Zeilen gehen auch ohne).</translation>
    </message>
    <message>
        <source>Choose a layer.</source>
        <translation>Wählen Sie eine Schicht.</translation>
    </message>
    <message>
        <source>%1 rows of %2 values (%3)</source>
        <translation>%1 Zeilen mit je %2 Werten (%3)</translation>
    </message>
    <message>
        <source>No model is loaded: open a model for real rows, or choose a synthetic distribution.</source>
        <translation>Kein Modell geladen: Öffnen Sie ein Modell für echte Zeilen oder wählen Sie eine synthetische Verteilung.</translation>
    </message>
    <message>
        <source>%1, row %2</source>
        <translation>%1, Zeile %2</translation>
    </message>
    <message>
        <source>%1, %2 values</source>
        <translation>%1, %2 Werte</translation>
    </message>
    <message numerus="yes">
        <source>%n bit(s)</source>
        <translation>
            <numerusform>%n Bit</numerusform>
            <numerusform>%n Bit</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source> (of %n group(s))</source>
        <translation>
            <numerusform> (von %n Gruppe)</numerusform>
            <numerusform> (von %n Gruppen)</numerusform>
        </translation>
    </message>
    <message>
        <source>%1 — %2</source>
        <translation>%1 — %2</translation>
    </message>
    <message>
        <source>%1 dB</source>
        <translation>%1 dB</translation>
    </message>
    <message>
        <source>∞ (exact)</source>
        <translation>∞ (exakt)</translation>
    </message>
    <message>
        <source>%1 (%2 % of f16)</source>
        <translation>%1 (%2 % von f16)</translation>
    </message>
    <message>
        <source>%1 — %2 (%3)</source>
        <translation>%1 — %2 (%3)</translation>
    </message>
    <message>
        <source>Controls</source>
        <translation>Steuerung</translation>
    </message>
    <message>
        <source>Show or hide the controls, leaving the plots the whole width</source>
        <translation>Steuerelemente ein- oder ausblenden, damit die Diagramme die ganze Breite bekommen</translation>
    </message>
    <message>
        <source>Sort values within each group</source>
        <translation>Werte innerhalb jeder Gruppe sortieren</translation>
    </message>
    <message>
        <source>Reset axes</source>
        <translation>Achsen zurücksetzen</translation>
    </message>
    <message>
        <source>The axes stay fixed while settings change, so a change shows as a change; this fits them to the row and the current results again</source>
        <translation>Die Achsen bleiben fest, während sich die Einstellungen ändern, damit eine Änderung als Änderung sichtbar wird; dies passt sie wieder an die Zeile und die aktuellen Ergebnisse an</translation>
    </message>
    <message>
        <source>&lt;b&gt;B&lt;/b&gt;</source>
        <translation>&lt;b&gt;B&lt;/b&gt;</translation>
    </message>
    <message>
        <source>&lt;b&gt;A&lt;/b&gt;</source>
        <translation>&lt;b&gt;A&lt;/b&gt;</translation>
    </message>
    <message>
        <source>Compare with a second method (B)</source>
        <translation>Mit einer zweiten Methode vergleichen (B)</translation>
    </message>
    <message>
        <source>Compare</source>
        <translation>Vergleichen</translation>
    </message>
    <message>
        <source>The weight whose quantization is shown step by step (ringed in the plot; its group&apos;s levels are drawn)</source>
        <translation>Das Gewicht, dessen Quantisierung Schritt für Schritt gezeigt wird (im Diagramm umkreist; die Stufen seiner Gruppe werden gezeichnet)</translation>
    </message>
    <message>
        <source>Previous weight</source>
        <translation>Vorheriges Gewicht</translation>
    </message>
    <message>
        <source>Next weight</source>
        <translation>Nächstes Gewicht</translation>
    </message>
    <message>
        <source>Weight</source>
        <translation>Gewicht</translation>
    </message>
    <message>
        <source>Run GPTQ on this row</source>
        <translation>GPTQ auf dieser Zeile ausführen</translation>
    </message>
    <message>
        <source>Computes the layer&apos;s input statistics XᵀX from %1 windows of %2 tokens of the calibration text (once per layer), then GPTQ with the bits, group size and symmetry of A</source>
        <translation>Berechnet die Eingabestatistik XᵀX der Schicht aus %1 Fenstern zu %2 Token des Kalibrierungstexts (einmal pro Schicht), dann GPTQ mit Bits, Gruppengröße und Symmetrie von A</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <source>Uses a real row of the loaded model and the calibration text.</source>
        <translation>Verwendet eine echte Zeile des geladenen Modells und den Kalibrierungstext.</translation>
    </message>
    <message>
        <source>column step </source>
        <translation>Spaltenschritt </translation>
    </message>
    <message>
        <source>Previous column</source>
        <translation>Vorherige Spalte</translation>
    </message>
    <message>
        <source>Next column</source>
        <translation>Nächste Spalte</translation>
    </message>
    <message>
        <source>B: %1</source>
        <translation>B: %1</translation>
    </message>
    <message>
        <source> of %1</source>
        <translation> von %1</translation>
    </message>
    <message>
        <source>%1 — A vs B</source>
        <translation>%1 — A gegen B</translation>
    </message>
    <message>
        <source>B: GPTQ is running on this row…</source>
        <translation>B: GPTQ läuft auf dieser Zeile…</translation>
    </message>
    <message>
        <source>A and B have the same MSE.</source>
        <translation>A und B haben denselben MSE.</translation>
    </message>
    <message>
        <source>%1 wins: %2× lower MSE at %3 bits per weight (the other: %4).</source>
        <translation>%1 gewinnt: %2× kleinerer MSE bei %3 Bits pro Gewicht (der andere: %4).</translation>
    </message>
    <message>
        <source>A</source>
        <translation>A</translation>
    </message>
    <message>
        <source>B</source>
        <translation>B</translation>
    </message>
    <message>
        <source>∞</source>
        <translation>∞</translation>
    </message>
    <message>
        <source>: q = clamp(round(w/s + z), 0, %1), ŵ = (q − z)·s</source>
        <translation>: q = clamp(round(w/s + z), 0, %1), ŵ = (q − z)·s</translation>
    </message>
    <message>
        <source>: q = clamp(round(w/s) + z, 0, %1), ŵ = (q − z)·s</source>
        <translation>: q = clamp(round(w/s) + z, 0, %1), ŵ = (q − z)·s</translation>
    </message>
    <message>
        <source>scale s =</source>
        <translation>Skala s =</translation>
    </message>
    <message>
        <source>zero z =</source>
        <translation>Nullpunkt z =</translation>
    </message>
    <message>
        <source>clamped to [0, %1]!</source>
        <translation>auf [0, %1] begrenzt!</translation>
    </message>
    <message>
        <source>in [0, %1]</source>
        <translation>in [0, %1]</translation>
    </message>
    <message>
        <source>error w − ŵ =</source>
        <translation>Fehler w − ŵ =</translation>
    </message>
    <message>
        <source>: a block type with quantized sub-block scales</source>
        <translation>: ein Blocktyp mit quantisierten Unterblock-Skalen</translation>
    </message>
    <message>
        <source>GPTQ needs a real row: open a model and choose &quot;Real weight row&quot;.</source>
        <translation>GPTQ braucht eine echte Zeile: Öffnen Sie ein Modell und wählen Sie „Echte Gewichtszeile“.</translation>
    </message>
    <message>
        <source>No row to quantize.</source>
        <translation>Keine Zeile zum Quantisieren.</translation>
    </message>
    <message>
        <source>%1: the calibration text does not exist; set the data folder in Preferences.</source>
        <translation>%1: Der Kalibrierungstext existiert nicht; legen Sie den Datenordner in den Einstellungen fest.</translation>
    </message>
    <message>
        <source>Running GPTQ on the row…</source>
        <translation>GPTQ läuft auf der Zeile…</translation>
    </message>
    <message>
        <source>Computing the statistics of %1…</source>
        <translation>Berechne die Statistik von %1…</translation>
    </message>
    <message>
        <source>%1: %2 (%3 %)</source>
        <translation>%1: %2 (%3 %)</translation>
    </message>
    <message>
        <source>Cancelled.</source>
        <translation>Abgebrochen.</translation>
    </message>
    <message>
        <source>%1 — %2: XᵀX from %3 tokens of %4, λ = %5; %6 s</source>
        <translation>%1 — %2: XᵀX aus %3 Token von %4, λ = %5; %6 s</translation>
    </message>
    <message>
        <source>column (step %1 of %2)</source>
        <translation>Spalte (Schritt %1 von %2)</translation>
    </message>
    <message>
        <source>w₀ (original)</source>
        <translation>w₀ (Original)</translation>
    </message>
    <message>
        <source>w (after feedback)</source>
        <translation>w (nach Rückführung)</translation>
    </message>
    <message>
        <source>s, z</source>
        <translation>s, z</translation>
    </message>
    <message>
        <source>%1, %2</source>
        <translation>%1, %2</translation>
    </message>
    <message>
        <source>q = clamp(round(w/s) + z)</source>
        <translation>q = clamp(round(w/s) + z)</translation>
    </message>
    <message>
        <source>ŵ = (q − z)·s</source>
        <translation>ŵ = (q − z)·s</translation>
    </message>
    <message>
        <source>e = w − ŵ</source>
        <translation>e = w − ŵ</translation>
    </message>
    <message>
        <source>fed back e / U(j,j) (U(j,j) = %1)</source>
        <translation>zurückgeführt e / U(j,j) (U(j,j) = %1)</translation>
    </message>
    <message>
        <source>output error now: GPTQ / RTN</source>
        <translation>Ausgabefehler jetzt: GPTQ / RTN</translation>
    </message>
    <message>
        <source>%1 / %2</source>
        <translation>%1 / %2</translation>
    </message>
    <message>
        <source>at the end: GPTQ / RTN</source>
        <translation>am Ende: GPTQ / RTN</translation>
    </message>
    <message>
        <source>Next columns: w −= e/U(j,j)·U(j,k)</source>
        <translation>Nächste Spalten: w −= e/U(j,j)·U(j,k)</translation>
    </message>
    <message>
        <source>column</source>
        <translation>Spalte</translation>
    </message>
    <message>
        <source>before</source>
        <translation>vorher</translation>
    </message>
    <message>
        <source>after</source>
        <translation>nachher</translation>
    </message>
    <message>
        <source>of A</source>
        <translation>von A</translation>
    </message>
    <message>
        <source>of B</source>
        <translation>von B</translation>
    </message>
    <message>
        <source>The method whose steps are shown (B while two methods are compared)</source>
        <translation>Die Methode, deren Schritte gezeigt werden (B, während zwei Methoden verglichen werden)</translation>
    </message>
    <message>
        <source>Step through one weight</source>
        <translation>Ein Gewicht Schritt für Schritt</translation>
    </message>
    <message>
        <source>%1 · weight #%2 of group %3 (columns %4–%5)</source>
        <translation>%1 · Gewicht Nr. %2 der Gruppe %3 (Spalten %4–%5)</translation>
    </message>
    <message>
        <source>B (%1)</source>
        <translation>B (%1)</translation>
    </message>
    <message>
        <source>A (%1)</source>
        <translation>A (%1)</translation>
    </message>
    <message>
        <source>: GPTQ rounded the value its error feedback had moved there, not w (see GPTQ step by step)</source>
        <translation>: GPTQ rundete den Wert, den seine Fehlerrückführung dorthin verschoben hatte, nicht w (siehe GPTQ Schritt für Schritt)</translation>
    </message>
    <message>
        <source>%1 × %2 bits</source>
        <translation>%1 × %2 Bit</translation>
    </message>
    <message>
        <source>GPTQ</source>
        <translation>GPTQ</translation>
    </message>
    <message>
        <source>GPTQ step by step on a real row, with the layer&apos;s statistics</source>
        <translation>GPTQ Schritt für Schritt auf einer echten Zeile, mit den Statistiken der Schicht</translation>
    </message>
    <message>
        <source>Codebooks</source>
        <translation>Codebücher</translation>
    </message>
    <message>
        <source>The points a pair of weights can take (grid, codebook, lattice) and the row&apos;s distribution before and after the Hadamard rotation</source>
        <translation>Die Punkte, die ein Gewichtspaar annehmen kann (Raster, Codebuch, Gitter), und die Verteilung der Zeile vor und nach der Hadamard-Rotation</translation>
    </message>
    <message>
        <source>Hadamard rotation (incoherence)</source>
        <translation>Hadamard-Rotation (Inkohärenz)</translation>
    </message>
    <message>
        <source>Rotate the row by a randomized Hadamard transform V before quantizing (and back after): outliers spread over all values, so the grid fits typical weights. See &quot;Codebooks&quot;.</source>
        <translation>Die Zeile vor dem Quantisieren mit einer randomisierten Hadamard-Transformation V drehen (und danach zurück): Ausreißer verteilen sich auf alle Werte, das Raster passt so zu typischen Gewichten. Siehe „Codebücher“.</translation>
    </message>
    <message>
        <source>AQLM: M codebooks of 2^B entries (M × B bits); a vector of 8 weights is the sum of one entry of each</source>
        <translation>AQLM: M Codebücher mit 2^B Einträgen (M × B Bit); ein Vektor aus 8 Gewichten ist die Summe je eines Eintrags</translation>
    </message>
    <message>
        <source> %</source>
        <translation> %</translation>
    </message>
    <message>
        <source>SqueezeLLM: the share of the row kept exact in a sparse matrix (the largest and most sensitive weights)</source>
        <translation>SqueezeLLM: der Anteil der Zeile, der exakt in einer dünnbesetzten Matrix bleibt (die größten und empfindlichsten Gewichte)</translation>
    </message>
    <message>
        <source>Kept exact</source>
        <translation>Exakt behalten</translation>
    </message>
    <message>
        <source>GPTQ (from the &quot;GPTQ&quot; page)</source>
        <translation>GPTQ (von der Seite „GPTQ“)</translation>
    </message>
    <message>
        <source>GPTQ with A&apos;s bits, group size and symmetry on this row, as computed on the &quot;GPTQ&quot; page (run it there first)</source>
        <translation>GPTQ mit Bits, Gruppengröße und Symmetrie von A auf dieser Zeile, wie auf der Seite „GPTQ“ berechnet (dort zuerst ausführen)</translation>
    </message>
    <message>
        <source>Quantizing the row with %1…</source>
        <translation>Quantisiere die Zeile mit %1…</translation>
    </message>
    <message numerus="yes">
        <source> (of %n vector(s) of 8)</source>
        <translation>
            <numerusform> (von %n Vektor aus 8)</numerusform>
            <numerusform> (von %n Vektoren aus 8)</numerusform>
        </translation>
    </message>
    <message>
        <source>A: </source>
        <translation>A: </translation>
    </message>
    <message>
        <source>B: </source>
        <translation>B: </translation>
    </message>
    <message>
        <source>%1 weighs the error by the layer&apos;s statistics (%2 calibration tokens, from the &quot;GPTQ&quot; page).</source>
        <translation>%1 gewichtet den Fehler mit den Statistiken der Schicht (%2 Kalibrierungs-Tokens, von der Seite „GPTQ“).</translation>
    </message>
    <message>
        <source>%1 is given isotropic inputs (XᵀX = I: one row has no activations), so it minimises the weights&apos; own error.%2</source>
        <translation>%1 bekommt isotrope Eingaben (XᵀX = I: eine Zeile hat keine Aktivierungen) und minimiert so den Fehler der Gewichte selbst.%2</translation>
    </message>
    <message>
        <source> Run GPTQ on the &quot;GPTQ&quot; page to use the layer&apos;s statistics.</source>
        <translation> GPTQ auf der Seite „GPTQ“ ausführen, um die Statistiken der Schicht zu nutzen.</translation>
    </message>
    <message>
        <source>B: run GPTQ on this row first (the &quot;GPTQ&quot; page); it uses A&apos;s bits, group size and symmetry.</source>
        <translation>B: zuerst GPTQ auf dieser Zeile ausführen (Seite „GPTQ“); es nutzt Bits, Gruppengröße und Symmetrie von A.</translation>
    </message>
    <message>
        <source>: ŵ = the row&apos;s codebook entry q (k-means levels)</source>
        <translation>: ŵ = Eintrag q des Codebuchs der Zeile (k-Means-Stufen)</translation>
    </message>
    <message>
        <source>: the vector of 8 weights takes one point of the E8P lattice, times the row&apos;s scale</source>
        <translation>: der Vektor aus 8 Gewichten nimmt einen Punkt des E8P-Gitters an, mal die Skala der Zeile</translation>
    </message>
    <message>
        <source>: the vector of 8 weights is the sum of one entry of each codebook, times the row&apos;s scale</source>
        <translation>: der Vektor aus 8 Gewichten ist die Summe je eines Eintrags jedes Codebuchs, mal die Skala der Zeile</translation>
    </message>
    <message>
        <source>kept exact in the sparse matrix</source>
        <translation>exakt in der dünnbesetzten Matrix</translation>
    </message>
    <message>
        <source>vector %1:</source>
        <translation>Vektor %1:</translation>
    </message>
    <message>
        <source>q is</source>
        <translation>q ist</translation>
    </message>
    <message>
        <source> — rotated: w is (V·w)_%1, the value the method quantizes</source>
        <translation> — rotiert: w ist (V·w)_%1, der Wert, den die Methode quantisiert</translation>
    </message>
    <message>
        <source>That is the weights&apos; error; GPTQ minimises the layer&apos;s output error, ‖(w − ŵ)X‖²/n: GPTQ %1 vs RTN %2 on this row (learned rounding, SignRound: %3, %4 weights rounded the other way).</source>
        <translation>Das ist der Fehler der Gewichte; GPTQ minimiert den Ausgabefehler der Schicht, ‖(w − ŵ)X‖²/n: GPTQ %1 gegen RTN %2 auf dieser Zeile (gelernte Rundung, SignRound: %3, %4 Gewichte andersherum gerundet).</translation>
    </message>
    <message>
        <source>learned rounding (SignRound, %1 steps)</source>
        <translation>gelernte Rundung (SignRound, %1 Schritte)</translation>
    </message>
    <message>
        <source>%1: %2 of %3 weights rounded the other way (%4 up, %5 down)</source>
        <translation>%1: %2 von %3 Gewichten andersherum gerundet (%4 auf, %5 ab)</translation>
    </message>
</context>
<context>
    <name>qs::PlaygroundRotationPlot</name>
    <message>
        <source>Distribution of the row</source>
        <translation>Verteilung der Zeile</translation>
    </message>
    <message>
        <source>The row before and after the Hadamard rotation (%1)</source>
        <translation>Die Zeile vor und nach der Hadamard-Rotation (%1)</translation>
    </message>
    <message>
        <source>Distribution of the row (no rotation: choose Hadamard rotation, or QuIP#)</source>
        <translation>Verteilung der Zeile (keine Rotation: Hadamard-Rotation oder QuIP# wählen)</translation>
    </message>
    <message>
        <source>value</source>
        <translation>Wert</translation>
    </message>
    <message>
        <source>count</source>
        <translation>Anzahl</translation>
    </message>
    <message>
        <source>No row to show</source>
        <translation>Keine Zeile anzuzeigen</translation>
    </message>
    <message>
        <source>original w (kurtosis %1)</source>
        <translation>original w (Kurtosis %1)</translation>
    </message>
    <message>
        <source>rotated V·w (kurtosis %1)</source>
        <translation>rotiert V·w (Kurtosis %1)</translation>
    </message>
    <message>
        <source>Gaussian, same σ</source>
        <translation>Gauß, gleiches σ</translation>
    </message>
    <message>
        <source>[%1, %2): %3 original, %4 rotated</source>
        <translation>[%1, %2): %3 original, %4 rotiert</translation>
    </message>
    <message>
        <source>[%1, %2): %3 values</source>
        <translation>[%1, %2): %3 Werte</translation>
    </message>
</context>
<context>
    <name>qs::PlaygroundValuesPlot</name>
    <message>
        <source>Values and quantization levels</source>
        <translation>Werte und Quantisierungsstufen</translation>
    </message>
    <message>
        <source>index in the row</source>
        <translation>Index in der Zeile</translation>
    </message>
    <message>
        <source>value</source>
        <translation>Wert</translation>
    </message>
    <message>
        <source>No row to show</source>
        <translation>Keine Zeile zum Anzeigen</translation>
    </message>
    <message>
        <source>#%1 (group %2)
value %3 → %4
error %5</source>
        <translation>#%1 (Gruppe %2)
Wert %3 → %4
Fehler %5</translation>
    </message>
    <message>
        <source>levels of group %1 (%2)</source>
        <translation>Stufen der Gruppe %1 (%2)</translation>
    </message>
    <message>
        <source>original</source>
        <translation>Original</translation>
    </message>
    <message>
        <source>reconstructed</source>
        <translation>rekonstruiert</translation>
    </message>
    <message>
        <source>Values (sorted within each group) and quantization levels</source>
        <translation>Werte (innerhalb jeder Gruppe sortiert) und Quantisierungsstufen</translation>
    </message>
    <message>
        <source>position (each group sorted by value)</source>
        <translation>Position (jede Gruppe nach Wert sortiert)</translation>
    </message>
    <message>
        <source>#%1 (group %2)
value %3
A → %4 (error %5)
B → %6 (error %7)</source>
        <translation>Nr. %1 (Gruppe %2)
Wert %3
A → %4 (Fehler %5)
B → %6 (Fehler %7)</translation>
    </message>
    <message>
        <source>reconstructed A: %1</source>
        <translation>rekonstruiert A: %1</translation>
    </message>
    <message>
        <source>reconstructed B: %1</source>
        <translation>rekonstruiert B: %1</translation>
    </message>
    <message>
        <source>weight #%1</source>
        <translation>Gewicht Nr. %1</translation>
    </message>
    <message>
        <source>kept exact (sparse, %1)</source>
        <translation>exakt behalten (dünnbesetzt, %1)</translation>
    </message>
</context>
<context>
    <name>qs::PlotWidget</name>
    <message>
        <source>cannot write the PNG: %1</source>
        <translation>PNG kann nicht geschrieben werden: %1</translation>
    </message>
    <message>
        <source>cannot write the PDF: %1</source>
        <translation>PDF kann nicht geschrieben werden: %1</translation>
    </message>
    <message>
        <source>cannot write the PDF</source>
        <translation>PDF kann nicht geschrieben werden</translation>
    </message>
    <message>
        <source>cannot write the PDF: rename failed</source>
        <translation>PDF kann nicht geschrieben werden: Umbenennen fehlgeschlagen</translation>
    </message>
    <message>
        <source>Export Plot…</source>
        <translation>Diagramm exportieren…</translation>
    </message>
    <message>
        <source>Export Plot</source>
        <translation>Diagramm exportieren</translation>
    </message>
    <message>
        <source>PNG image (*.png);;PDF (*.pdf);;SVG image (*.svg);;CSV data (*.csv)</source>
        <translation>PNG-Bild (*.png);;PDF (*.pdf);;SVG-Bild (*.svg);;CSV-Daten (*.csv)</translation>
    </message>
    <message>
        <source>Cannot export the plot</source>
        <translation>Das Diagramm kann nicht exportiert werden</translation>
    </message>
    <message>
        <source>cannot write the SVG</source>
        <translation>SVG kann nicht geschrieben werden</translation>
    </message>
    <message>
        <source>unknown export format &apos;%1&apos; (png, pdf, svg or csv)</source>
        <translation>unbekanntes Exportformat „%1“ (png, pdf, svg oder csv)</translation>
    </message>
    <message>
        <source>cannot write the PNG: the plot could not be drawn</source>
        <translation>PNG kann nicht geschrieben werden: das Diagramm ließ sich nicht zeichnen</translation>
    </message>
</context>
<context>
    <name>qs::RunDiffView</name>
    <message>
        <source>ppl</source>
        <translation>ppl</translation>
    </message>
    <message>
        <source>Δppl</source>
        <translation>Δppl</translation>
    </message>
    <message>
        <source>KLD</source>
        <translation>KLD</translation>
    </message>
    <message>
        <source>top-1 %</source>
        <translation>Top-1 %</translation>
    </message>
    <message>
        <source>bpw (model)</source>
        <translation>bpw (Modell)</translation>
    </message>
    <message>
        <source>bpw (linear)</source>
        <translation>bpw (linear)</translation>
    </message>
    <message>
        <source>MB</source>
        <translation>MB</translation>
    </message>
    <message>
        <source>prefill tok/s</source>
        <translation>Prefill Tok/s</translation>
    </message>
    <message>
        <source>decode tok/s</source>
        <translation>Decode Tok/s</translation>
    </message>
    <message>
        <source>resident MB</source>
        <translation>belegt MB</translation>
    </message>
    <message>
        <source>quantize s</source>
        <translation>Quantisierung s</translation>
    </message>
    <message>
        <source>method</source>
        <translation>Methode</translation>
    </message>
    <message>
        <source>bits</source>
        <translation>Bits</translation>
    </message>
    <message>
        <source>group</source>
        <translation>Gruppe</translation>
    </message>
    <message>
        <source>sym</source>
        <translation>sym</translation>
    </message>
    <message>
        <source>type</source>
        <translation>Typ</translation>
    </message>
    <message>
        <source>Only layers whose scheme differs</source>
        <translation>Nur Schichten mit abweichendem Schema</translation>
    </message>
    <message>
        <source>Whole run</source>
        <translation>Ganzer Lauf</translation>
    </message>
    <message>
        <source>Recipes</source>
        <translation>Rezepte</translation>
    </message>
    <message>
        <source>Per-layer numbers</source>
        <translation>Werte pro Schicht</translation>
    </message>
    <message>
        <source>A: %1 (%2)
B: %3 (%4)</source>
        <translation>A: %1 (%2)
B: %3 (%4)</translation>
    </message>
    <message numerus="yes">
        <source>The same scheme in all %n layer(s).</source>
        <translation>
            <numerusform>Dasselbe Schema in %n Schicht.</numerusform>
            <numerusform>Dasselbe Schema in allen %n Schichten.</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%1 of %n layer(s) quantized differently (highlighted).</source>
        <translation>
            <numerusform>%1 von %n Schicht anders quantisiert (hervorgehoben).</numerusform>
            <numerusform>%1 von %n Schichten anders quantisiert (hervorgehoben).</numerusform>
        </translation>
    </message>
    <message>
        <source>Run</source>
        <translation>Lauf</translation>
    </message>
    <message>
        <source>A: %1</source>
        <translation>A: %1</translation>
    </message>
    <message>
        <source>B: %1</source>
        <translation>B: %1</translation>
    </message>
    <message>
        <source>B − A</source>
        <translation>B − A</translation>
    </message>
    <message>
        <source>Layer</source>
        <translation>Schicht</translation>
    </message>
    <message>
        <source>%1 A</source>
        <translation>%1 A</translation>
    </message>
    <message>
        <source>%1 B</source>
        <translation>%1 B</translation>
    </message>
    <message>
        <source>weight rel. MSE</source>
        <translation>rel. MSE Gewichte</translation>
    </message>
    <message>
        <source>output rel. MSE</source>
        <translation>rel. MSE Ausgabe</translation>
    </message>
    <message>
        <source>KLD contribution</source>
        <translation>KLD-Beitrag</translation>
    </message>
    <message>
        <source>bpw</source>
        <translation>bpw</translation>
    </message>
    <message>
        <source>bytes</source>
        <translation>Bytes</translation>
    </message>
    <message>
        <source>%1 B − A</source>
        <translation>%1 B − A</translation>
    </message>
    <message>
        <source>B / A = %1</source>
        <translation>B / A = %1</translation>
    </message>
</context>
<context>
    <name>qs::RunHistoryPanel</name>
    <message>
        <source>Search name, recipe, method, model, tag</source>
        <translation>Name, Rezept, Methode, Modell, Tag suchen</translation>
    </message>
    <message>
        <source>Model path contains</source>
        <translation>Modellpfad enthält</translation>
    </message>
    <message>
        <source>Any method</source>
        <translation>Jede Methode</translation>
    </message>
    <message>
        <source>Any bits</source>
        <translation>Alle Bits</translation>
    </message>
    <message>
        <source> bits</source>
        <translation> Bit</translation>
    </message>
    <message>
        <source>min bpw</source>
        <translation>min. bpw</translation>
    </message>
    <message>
        <source>Largest whole-model bits per weight shown</source>
        <translation>Größte angezeigte Bits pro Gewicht (ganzes Modell)</translation>
    </message>
    <message>
        <source>Smallest whole-model bits per weight shown</source>
        <translation>Kleinste angezeigte Bits pro Gewicht (ganzes Modell)</translation>
    </message>
    <message>
        <source>Since</source>
        <translation>Seit</translation>
    </message>
    <message>
        <source>Tag</source>
        <translation>Tag</translation>
    </message>
    <message>
        <source>Trash</source>
        <translation>Papierkorb</translation>
    </message>
    <message>
        <source>Show the deleted runs (Restore brings them back)</source>
        <translation>Die gelöschten Läufe zeigen (Wiederherstellen holt sie zurück)</translation>
    </message>
    <message>
        <source>Id</source>
        <translation>Nr.</translation>
    </message>
    <message>
        <source>Recorded</source>
        <translation>Erfasst</translation>
    </message>
    <message>
        <source>Run</source>
        <translation>Lauf</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>Modell</translation>
    </message>
    <message>
        <source>Method</source>
        <translation>Methode</translation>
    </message>
    <message>
        <source>Bits</source>
        <translation>Bits</translation>
    </message>
    <message>
        <source>bpw</source>
        <translation>bpw</translation>
    </message>
    <message>
        <source>ppl ± err</source>
        <translation>PPL ± Fehler</translation>
    </message>
    <message>
        <source>KLD</source>
        <translation>KLD</translation>
    </message>
    <message>
        <source>Tags</source>
        <translation>Tags</translation>
    </message>
    <message>
        <source>Checkpoint</source>
        <translation>Checkpoint</translation>
    </message>
    <message>
        <source>The disk the run&apos;s kept checkpoint takes</source>
        <translation>Der Plattenplatz des aufbewahrten Checkpoints des Laufs</translation>
    </message>
    <message>
        <source>Compare</source>
        <translation>Vergleichen</translation>
    </message>
    <message>
        <source>Show the selected runs in the comparison plots</source>
        <translation>Die gewählten Läufe in den Vergleichsdiagrammen zeigen</translation>
    </message>
    <message>
        <source>Tag…</source>
        <translation>Taggen…</translation>
    </message>
    <message>
        <source>Set the tags of the selected runs</source>
        <translation>Die Tags der gewählten Läufe setzen</translation>
    </message>
    <message>
        <source>Rename…</source>
        <translation>Umbenennen…</translation>
    </message>
    <message>
        <source>Rename the selected run</source>
        <translation>Den gewählten Lauf umbenennen</translation>
    </message>
    <message>
        <source>Delete</source>
        <translation>Löschen</translation>
    </message>
    <message>
        <source>Move the selected runs to the trash (Undo brings them back)</source>
        <translation>Die gewählten Läufe in den Papierkorb verschieben (Rückgängig holt sie zurück)</translation>
    </message>
    <message>
        <source>Undo delete</source>
        <translation>Löschen rückgängig</translation>
    </message>
    <message>
        <source>Bring back the runs just deleted</source>
        <translation>Die eben gelöschten Läufe zurückholen</translation>
    </message>
    <message>
        <source>Restore</source>
        <translation>Wiederherstellen</translation>
    </message>
    <message>
        <source>Bring the selected runs back from the trash</source>
        <translation>Die gewählten Läufe aus dem Papierkorb zurückholen</translation>
    </message>
    <message>
        <source>Remove checkpoints</source>
        <translation>Checkpoints entfernen</translation>
    </message>
    <message>
        <source>Delete the kept checkpoints of the selected runs; their numbers stay</source>
        <translation>Die aufbewahrten Checkpoints der gewählten Läufe löschen; ihre Messwerte bleiben</translation>
    </message>
    <message>
        <source>Empty trash</source>
        <translation>Papierkorb leeren</translation>
    </message>
    <message>
        <source>Remove the runs in the trash for good, with their kept checkpoints</source>
        <translation>Die Läufe im Papierkorb endgültig entfernen, mit ihren aufbewahrten Checkpoints</translation>
    </message>
    <message>
        <source>The results database cannot be read: %1</source>
        <translation>Die Ergebnisdatenbank kann nicht gelesen werden: %1</translation>
    </message>
    <message>
        <source>none</source>
        <translation>keiner</translation>
    </message>
    <message numerus="yes">
        <source>Kept checkpoints: %n run(s), %1</source>
        <translation>
            <numerusform>Aufbewahrte Checkpoints: %n Lauf, %1</numerusform>
            <numerusform>Aufbewahrte Checkpoints: %n Läufe, %1</numerusform>
        </translation>
    </message>
    <message>
        <source>Runs are kept in memory only</source>
        <translation>Läufe werden nur im Speicher gehalten</translation>
    </message>
    <message>
        <source>In %1</source>
        <translation>In %1</translation>
    </message>
    <message>
        <source>Cannot change the run history</source>
        <translation>Der Lauf-Verlauf kann nicht geändert werden</translation>
    </message>
    <message numerus="yes">
        <source>Undo delete (%n run(s))</source>
        <translation>
            <numerusform>Löschen rückgängig (%n Lauf)</numerusform>
            <numerusform>Löschen rückgängig (%n Läufe)</numerusform>
        </translation>
    </message>
    <message>
        <source>Tag runs</source>
        <translation>Läufe taggen</translation>
    </message>
    <message>
        <source>Tags (comma-separated; empty removes all):</source>
        <translation>Tags (durch Kommas getrennt; leer entfernt alle):</translation>
    </message>
    <message>
        <source>Rename run</source>
        <translation>Lauf umbenennen</translation>
    </message>
    <message>
        <source>Name:</source>
        <translation>Name:</translation>
    </message>
    <message numerus="yes">
        <source>%n checkpoint(s) removed; the runs&apos; numbers stay.</source>
        <translation>
            <numerusform>%n Checkpoint entfernt; die Messwerte der Läufe bleiben.</numerusform>
            <numerusform>%n Checkpoints entfernt; die Messwerte der Läufe bleiben.</numerusform>
        </translation>
    </message>
    <message>
        <source>Left alone (not in the runs folder): %1</source>
        <translation>Unberührt gelassen (nicht im Läufe-Ordner): %1</translation>
    </message>
    <message numerus="yes">
        <source>Remove %n run(s) for good, with their kept checkpoints?</source>
        <translation>
            <numerusform>%n Lauf endgültig entfernen, mit seinem aufbewahrten Checkpoint?</numerusform>
            <numerusform>%n Läufe endgültig entfernen, mit ihren aufbewahrten Checkpoints?</numerusform>
        </translation>
    </message>
    <message>
        <source>Diff</source>
        <translation>Vergleich</translation>
    </message>
    <message>
        <source>Two selected runs side by side: their per-layer schemes, per-layer errors and whole-run metrics</source>
        <translation>Zwei ausgewählte Läufe nebeneinander: ihre Schemata pro Schicht, Fehler pro Schicht und Kennzahlen des ganzen Laufs</translation>
    </message>
</context>
<context>
    <name>qs::RunsPanel</name>
    <message>
        <source> chunks of 128 tokens</source>
        <translation> Abschnitte à 128 Token</translation>
    </message>
    <message>
        <source>Evaluation text</source>
        <translation>Evaluierungstext</translation>
    </message>
    <message>
        <source>Evaluation sample</source>
        <translation>Evaluierungsstichprobe</translation>
    </message>
    <message>
        <source>Calibration text</source>
        <translation>Kalibrierungstext</translation>
    </message>
    <message>
        <source>Run settings (quantize, then evaluate against the float model)</source>
        <translation>Laufeinstellungen (quantisieren, dann gegen das Float-Modell evaluieren)</translation>
    </message>
    <message>
        <source>Job</source>
        <translation>Job</translation>
    </message>
    <message>
        <source>Progress</source>
        <translation>Fortschritt</translation>
    </message>
    <message>
        <source>Stage</source>
        <translation>Phase</translation>
    </message>
    <message>
        <source>Layer</source>
        <translation>Schicht</translation>
    </message>
    <message>
        <source>ETA</source>
        <translation>Restzeit</translation>
    </message>
    <message>
        <source>Show</source>
        <translation>Anzeigen</translation>
    </message>
    <message>
        <source>Run</source>
        <translation>Lauf</translation>
    </message>
    <message>
        <source>Recipe</source>
        <translation>Rezept</translation>
    </message>
    <message>
        <source>MB</source>
        <translation>MB</translation>
    </message>
    <message>
        <source>ppl ± err</source>
        <translation>PPL ± Fehler</translation>
    </message>
    <message>
        <source>KLD</source>
        <translation>KLD</translation>
    </message>
    <message>
        <source>top-1 %</source>
        <translation>Top-1 %</translation>
    </message>
    <message>
        <source>Quantize s</source>
        <translation>Quantisierung (s)</translation>
    </message>
    <message>
        <source>Memory</source>
        <translation>Speicher</translation>
    </message>
    <message>
        <source>Error histogram</source>
        <translation>Fehlerhistogramm</translation>
    </message>
    <message>
        <source>Per-layer error</source>
        <translation>Fehler pro Schicht</translation>
    </message>
    <message>
        <source>Weights and grid</source>
        <translation>Gewichte und Quantisierungsraster</translation>
    </message>
    <message>
        <source>Layer for histogram and distribution:</source>
        <translation>Schicht für Histogramm und Verteilung:</translation>
    </message>
    <message>
        <source>Jobs</source>
        <translation>Jobs</translation>
    </message>
    <message>
        <source>Cannot start the run</source>
        <translation>Der Lauf kann nicht gestartet werden</translation>
    </message>
    <message>
        <source>Cannot create the cache folder %1 (Edit › Preferences).</source>
        <translation>Der Cache-Ordner %1 kann nicht angelegt werden (Bearbeiten › Einstellungen).</translation>
    </message>
    <message>
        <source>queued</source>
        <translation>wartet</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <source>cancelling…</source>
        <translation>wird abgebrochen…</translation>
    </message>
    <message>
        <source>%1 was cancelled</source>
        <translation>%1 wurde abgebrochen</translation>
    </message>
    <message>
        <source>Run %1 failed</source>
        <translation>Lauf %1 fehlgeschlagen</translation>
    </message>
    <message>
        <source>weights of %1</source>
        <translation>Gewichte von %1</translation>
    </message>
    <message>
        <source>bpw (model)</source>
        <translation>bpw (Modell)</translation>
    </message>
    <message>
        <source>bpw (linear)</source>
        <translation>bpw (linear)</translation>
    </message>
    <message>
        <source>Prefill tok/s</source>
        <translation>Prefill Token/s</translation>
    </message>
    <message>
        <source>Decode tok/s</source>
        <translation>Decode Token/s</translation>
    </message>
    <message>
        <source>Resident MB</source>
        <translation>Resident MB</translation>
    </message>
    <message>
        <source>The schemes the run quantized with, by how many linear layers use each</source>
        <translation>Die Schemata, mit denen der Lauf quantisiert hat, nach der Zahl der linearen Schichten, die sie verwenden</translation>
    </message>
    <message>
        <source>Bits per weight of the whole model: every stored byte (embeddings, norms and head included) over all parameters</source>
        <translation>Bits pro Gewicht des ganzen Modells: alle gespeicherten Bytes (einschließlich Embeddings, Normen und Ausgabekopf) über alle Parameter</translation>
    </message>
    <message>
        <source>Bits per weight of the linear layers only (the layers the plan quantizes)</source>
        <translation>Bits pro Gewicht nur der linearen Schichten (der Schichten, die der Plan quantisiert)</translation>
    </message>
    <message>
        <source>Cannot read the kept runs</source>
        <translation>Die aufbewahrten Läufe können nicht gelesen werden</translation>
    </message>
    <message>
        <source>Cannot keep the runs</source>
        <translation>Die Läufe können nicht aufbewahrt werden</translation>
    </message>
    <message>
        <source>%1

The runs stay while QuantScope runs.</source>
        <translation>%1

Die Läufe bleiben erhalten, solange QuantScope läuft.</translation>
    </message>
    <message>
        <source>Runs</source>
        <translation>Läufe</translation>
    </message>
    <message>
        <source>The recipe&apos;s calibration text: %1.

Fix &quot;calibration&quot; in the recipe, or remove it to use the Calibration text on the Runs page.</source>
        <translation>Kalibrierungstext des Rezepts: %1.

Korrigieren Sie &quot;calibration&quot; im Rezept, oder entfernen Sie es, um den Kalibrierungstext der Seite „Läufe“ zu verwenden.</translation>
    </message>
    <message>
        <source>The plan uses methods that need calibration (GPTQ, AWQ, SmoothQuant, LLM.int8).</source>
        <translation>Der Plan verwendet Methoden, die eine Kalibrierung brauchen (GPTQ, AWQ, SmoothQuant, LLM.int8).</translation>
    </message>
    <message>
        <source>Remove</source>
        <translation>Entfernen</translation>
    </message>
    <message>
        <source>Remove this ended job from the list</source>
        <translation>Diesen beendeten Auftrag aus der Liste entfernen</translation>
    </message>
    <message>
        <source>cancelled</source>
        <translation>abgebrochen</translation>
    </message>
    <message>
        <source>cancelled before it finished; nothing was kept</source>
        <translation>vor dem Ende abgebrochen; nichts wurde behalten</translation>
    </message>
    <message>
        <source>failed</source>
        <translation>fehlgeschlagen</translation>
    </message>
    <message>
        <source>%1
from the recipe “%2”</source>
        <translation>%1
aus dem Rezept „%2“</translation>
    </message>
    <message numerus="yes">
        <source>measured at %n thread(s)</source>
        <translation>
            <numerusform>gemessen mit %n Thread</numerusform>
            <numerusform>gemessen mit %n Threads</numerusform>
        </translation>
    </message>
    <message>
        <source>Δppl ± err</source>
        <translation>ΔPPL ± Fehler</translation>
    </message>
    <message>
        <source>Perplexity minus the float model&apos;s on the same tokens; the error is paired (from the spread of the per-chunk differences), much tighter than two ± bars</source>
        <translation>Perplexität minus die des Float-Modells auf denselben Tokens; der Fehler ist gepaart (aus der Streuung der Differenzen je Abschnitt) und viel enger als zwei ±-Balken</translation>
    </message>
    <message>
        <source>Quality:</source>
        <translation>Qualität:</translation>
    </message>
    <message>
        <source>against:</source>
        <translation>gegen:</translation>
    </message>
    <message>
        <source>Quality</source>
        <translation>Qualität</translation>
    </message>
    <message>
        <source>No shown run has Δ perplexity: it is measured against the float model&apos;s KLD base (runs evaluated before it was recorded have none)</source>
        <translation>Kein angezeigter Lauf hat Δ Perplexität: sie wird gegen die KLD-Basis des Float-Modells gemessen (früher ausgewertete Läufe haben keine)</translation>
    </message>
    <message>
        <source>No shown run was compared with the float model</source>
        <translation>Kein angezeigter Lauf wurde mit dem Float-Modell verglichen</translation>
    </message>
    <message>
        <source>No shown run has this measured (speed is measured after the evaluation)</source>
        <translation>Kein angezeigter Lauf hat diesen Messwert (die Geschwindigkeit wird nach der Auswertung gemessen)</translation>
    </message>
    <message>
        <source>Runs of this model</source>
        <translation>Läufe dieses Modells</translation>
    </message>
    <message>
        <source>History (all sessions)</source>
        <translation>Verlauf (alle Sitzungen)</translation>
    </message>
    <message>
        <source>The sweep was not recorded in the run history</source>
        <translation>Der Sweep wurde nicht im Lauf-Verlauf erfasst</translation>
    </message>
    <message>
        <source>The run history was damaged</source>
        <translation>Der Lauf-Verlauf war beschädigt</translation>
    </message>
    <message>
        <source>Some earlier run files could not be imported</source>
        <translation>Einige frühere Lauf-Dateien konnten nicht importiert werden</translation>
    </message>
    <message>
        <source>Cannot open the run history</source>
        <translation>Der Lauf-Verlauf kann nicht geöffnet werden</translation>
    </message>
    <message>
        <source>%1

Runs are kept while QuantScope runs, and not recorded.</source>
        <translation>%1

Läufe bleiben erhalten, solange QuantScope läuft, und werden nicht erfasst.</translation>
    </message>
    <message>
        <source>Diff selected runs</source>
        <translation>Ausgewählte Läufe vergleichen</translation>
    </message>
    <message>
        <source>Select two runs (Ctrl+click) to see their per-layer schemes, per-layer errors and whole-run metrics side by side</source>
        <translation>Wählen Sie zwei Läufe (Strg+Klick), um ihre Schemata pro Schicht, Fehler pro Schicht und Kennzahlen des ganzen Laufs nebeneinander zu sehen</translation>
    </message>
    <message>
        <source>What the per-layer heatmap and the error histogram show for each layer</source>
        <translation>Was die Heatmap pro Schicht und das Fehlerhistogramm für jede Schicht zeigen</translation>
    </message>
    <message>
        <source>Per-layer metric:</source>
        <translation>Metrik pro Schicht:</translation>
    </message>
    <message>
        <source>Diff</source>
        <translation>Vergleich</translation>
    </message>
    <message>
        <source>Two runs side by side: select two in either table and press Diff</source>
        <translation>Zwei Läufe nebeneinander: Wählen Sie in einer der Tabellen zwei aus und drücken Sie Vergleich</translation>
    </message>
    <message>
        <source>waiting %1</source>
        <translation>wartet %1</translation>
    </message>
    <message>
        <source>%1 elapsed</source>
        <translation>%1 vergangen</translation>
    </message>
    <message>
        <source>%1 elapsed, about %2 left</source>
        <translation>%1 vergangen, noch etwa %2</translation>
    </message>
    <message>
        <source>No shown run measured its layers&apos; output error (it is measured on the calibration inputs of methods that collect them)</source>
        <translation>Kein gezeigter Lauf hat den Ausgabefehler seiner Schichten gemessen (er wird auf den Kalibrierungseingaben der Methoden gemessen, die sie sammeln)</translation>
    </message>
    <message>
        <source>The sensitivity sweep did not measure the shown runs&apos; layer schemes (it measures each layer alone with each of its schemes)</source>
        <translation>Der Sensitivitätsdurchlauf hat die Schichtschemata der gezeigten Läufe nicht gemessen (er misst jede Schicht allein mit jedem ihrer Schemata)</translation>
    </message>
    <message>
        <source>Needs a sensitivity sweep of this model (Mixed precision page): it measures the KLD with each layer alone quantized</source>
        <translation>Braucht einen Sensitivitätsdurchlauf dieses Modells (Seite Gemischte Präzision): Er misst die KLD mit jeweils einer allein quantisierten Schicht</translation>
    </message>
    <message>
        <source>No shown run has per-layer measurements</source>
        <translation>Kein gezeigter Lauf hat Messungen pro Schicht</translation>
    </message>
    <message>
        <source>grid of “%1” (%2): the whole tensor</source>
        <translation>Raster von „%1“ (%2): der ganze Tensor</translation>
    </message>
    <message>
        <source>grid of “%1” (%2): row 0, group 0 (columns %3–%4)</source>
        <translation>Raster von „%1“ (%2): Zeile 0, Gruppe 0 (Spalten %3–%4)</translation>
    </message>
    <message>
        <source>“%1” keeps this layer float: no grid</source>
        <translation>„%1“ lässt diese Schicht in Gleitkomma: kein Raster</translation>
    </message>
    <message>
        <source>Fine-tune…</source>
        <translation>Fine-Tuning…</translation>
    </message>
    <message>
        <source>The float baseline is the model itself: fine-tuning starts from a quantized run&apos;s checkpoint</source>
        <translation>Die Float-Referenz ist das Modell selbst: Das Fine-Tuning beginnt beim Checkpoint eines quantisierten Laufs</translation>
    </message>
    <message>
        <source>No checkpoint of this run is kept (%1), and fine-tuning starts from one: run its plan again</source>
        <translation>Von diesem Lauf ist kein Checkpoint aufbewahrt (%1), und das Fine-Tuning beginnt bei einem: Führen Sie seinen Plan erneut aus</translation>
    </message>
    <message>
        <source>it did not outlive its session</source>
        <translation>er hat seine Sitzung nicht überdauert</translation>
    </message>
    <message>
        <source>A fine-tune of “%1” is running: show it</source>
        <translation>Ein Fine-Tuning von „%1“ läuft: anzeigen</translation>
    </message>
    <message>
        <source>Select one quantized run to fine-tune it</source>
        <translation>Wählen Sie einen quantisierten Lauf für das Fine-Tuning</translation>
    </message>
    <message>
        <source>Fine-tune “%1” from its checkpoint (%2): the result is a run of its own, next to it</source>
        <translation>Fine-Tuning von „%1“ ab seinem Checkpoint (%2): Das Ergebnis ist ein eigener Lauf daneben</translation>
    </message>
    <message>
        <source>Cannot fine-tune “%1”</source>
        <translation>Fine-Tuning von „%1“ nicht möglich</translation>
    </message>
    <message>
        <source>Fine-tuning failed</source>
        <translation>Fine-Tuning fehlgeschlagen</translation>
    </message>
</context>
<context>
    <name>qs::SchemePicker</name>
    <message>
        <source>llama.cpp&apos;s %1 (%2-value blocks); a plan of these exports as GGUF</source>
        <translation>%1 von llama.cpp (Blöcke zu %2 Werten); ein Plan daraus lässt sich als GGUF exportieren</translation>
    </message>
    <message>
        <source>imatrix</source>
        <translation>imatrix</translation>
    </message>
    <message>
        <source>Weight the rounding by the calibration text&apos;s activations, as llama-quantize --imatrix (needs a calibration text)</source>
        <translation>Das Runden nach den Aktivierungen des Kalibrierungstexts gewichten, wie llama-quantize --imatrix (braucht einen Kalibrierungstext)</translation>
    </message>
    <message>
        <source>Granularity of the checked %1 schemes</source>
        <translation>Granularität der angehakten %1-Schemata</translation>
    </message>
    <message>
        <source>%1-bit</source>
        <translation>%1 Bit</translation>
    </message>
    <message>
        <source>keep f16 (the reference a layer can stay at)</source>
        <translation>f16 behalten (die Referenz, bei der eine Schicht bleiben kann)</translation>
    </message>
    <message>
        <source>The candidate schemes, comma-separated (advanced): gguf-TYPE[-imat], method-wBITS-gGROUP|ch|tensor[-sym][-clip][-act][-had], or f16. The checkboxes above edit this list.</source>
        <translation>Die Kandidatenschemata, durch Kommas getrennt (für Fortgeschrittene): gguf-TYPE[-imat], method-wBITS-gGROUP|ch|tensor[-sym][-clip][-act][-had] oder f16. Die Kästchen darüber bearbeiten diese Liste.</translation>
    </message>
    <message>
        <source>List</source>
        <translation>Liste</translation>
    </message>
</context>
<context>
    <name>qs::SessionController</name>
    <message>
        <source>Cannot save the session: %1</source>
        <translation>Die Sitzung kann nicht gespeichert werden: %1</translation>
    </message>
    <message>
        <source>the model folder %1 no longer exists</source>
        <translation>der Modellordner %1 existiert nicht mehr</translation>
    </message>
    <message>
        <source>the saved plan does not apply to this model: %1</source>
        <translation>der gespeicherte Plan passt nicht zu diesem Modell: %1</translation>
    </message>
    <message>
        <source>the model %1 could not be opened: %2</source>
        <translation>das Modell %1 konnte nicht geöffnet werden: %2</translation>
    </message>
    <message>
        <source>The session %1 could not be restored:
%2

It was kept as %3. QuantScope starts with a clean workbench.</source>
        <translation>Die Sitzung %1 konnte nicht wiederhergestellt werden:
%2

Sie wurde als %3 aufbewahrt. QuantScope startet mit einer leeren Werkbank.</translation>
    </message>
    <message>
        <source>The session %1 could not be restored completely:
%2

It was kept as %3; the rest of it was restored.</source>
        <translation>Die Sitzung %1 konnte nicht vollständig wiederhergestellt werden:
%2

Sie wurde als %3 aufbewahrt; der Rest wurde wiederhergestellt.</translation>
    </message>
    <message>
        <source>The session %1 could not be restored:
%2

It could not be moved aside (%3), so this session will not be saved over it.</source>
        <translation>Die Sitzung %1 konnte nicht wiederhergestellt werden:
%2

Sie konnte nicht beiseitegelegt werden (%3), daher wird diese Sitzung sie nicht überschreiben.</translation>
    </message>
    <message>
        <source>Session not restored</source>
        <translation>Sitzung nicht wiederhergestellt</translation>
    </message>
</context>
<context>
    <name>qs::SettingsDialog</name>
    <message>
        <source>Preferences</source>
        <translation>Einstellungen</translation>
    </message>
    <message>
        <source>All cores (%1)</source>
        <translation>Alle Kerne (%1)</translation>
    </message>
    <message>
        <source>Threads the quantization and evaluation kernels use. Results do not depend on this number.</source>
        <translation>Threads für die Quantisierungs- und Evaluierungskernel. Die Ergebnisse hängen nicht von dieser Zahl ab.</translation>
    </message>
    <message>
        <source>Where the demo model and the default evaluation and calibration texts are found. Empty: QUANTSCOPE_DATA or ../shared/data.</source>
        <translation>Wo das Demomodell und die Standardtexte für Evaluierung und Kalibrierung liegen. Leer: QUANTSCOPE_DATA oder ../shared/data.</translation>
    </message>
    <message>
        <source>Where KLD bases and float baselines are kept between sessions.</source>
        <translation>Wo KLD-Basen und Float-Referenzen zwischen Sitzungen aufbewahrt werden.</translation>
    </message>
    <message>
        <source>%1 (not available)</source>
        <translation>%1 (nicht verfügbar)</translation>
    </message>
    <message>
        <source>System</source>
        <translation>System</translation>
    </message>
    <message>
        <source>Light</source>
        <translation>Hell</translation>
    </message>
    <message>
        <source>Dark</source>
        <translation>Dunkel</translation>
    </message>
    <message>
        <source>Worker threads</source>
        <translation>Arbeitsthreads</translation>
    </message>
    <message>
        <source>Data folder</source>
        <translation>Datenordner</translation>
    </message>
    <message>
        <source>Cache folder</source>
        <translation>Cache-Ordner</translation>
    </message>
    <message>
        <source>Language</source>
        <translation>Sprache</translation>
    </message>
    <message>
        <source>A new language applies when QuantScope starts again.</source>
        <translation>Eine neue Sprache gilt ab dem nächsten Start von QuantScope.</translation>
    </message>
    <message>
        <source>Theme</source>
        <translation>Farbschema</translation>
    </message>
    <message>
        <source>(none found)</source>
        <translation>(keiner gefunden)</translation>
    </message>
    <message>
        <source>default: %1</source>
        <translation>Standard: %1</translation>
    </message>
    <message>
        <source>Browse…</source>
        <translation>Durchsuchen…</translation>
    </message>
    <message>
        <source>Choose Folder</source>
        <translation>Ordner wählen</translation>
    </message>
</context>
<context>
    <name>qs::ShortcutsDialog</name>
    <message>
        <source>Keyboard Shortcuts</source>
        <translation>Tastenkürzel</translation>
    </message>
    <message>
        <source>Action</source>
        <translation>Aktion</translation>
    </message>
    <message>
        <source>Shortcut</source>
        <translation>Tastenkürzel</translation>
    </message>
</context>
<context>
    <name>qs::StartPage</name>
    <message>
        <source>Compare RTN, GPTQ and Q4_K on this model</source>
        <translation>RTN, GPTQ und Q4_K an diesem Modell vergleichen</translation>
    </message>
    <message>
        <source>Queues three 4-bit runs — RTN g128, GPTQ g128 and llama.cpp&apos;s Q4_K — and shows them side by side on the Runs page.</source>
        <translation>Reiht drei 4-Bit-Läufe ein – RTN g128, GPTQ g128 und Q4_K von llama.cpp – und zeigt sie auf der Seite „Läufe“ nebeneinander.</translation>
    </message>
    <message>
        <source>Find the most sensitive layers</source>
        <translation>Die empfindlichsten Schichten finden</translation>
    </message>
    <message>
        <source>Runs the sensitivity sweep on the Mixed precision page: the loss when only one layer is quantized, for every layer.</source>
        <translation>Startet den Sensitivitäts-Sweep auf der Seite „Gemischte Präzision“: der Verlust, wenn nur eine Schicht quantisiert ist, für jede Schicht.</translation>
    </message>
    <message>
        <source>Open the playground</source>
        <translation>Playground öffnen</translation>
    </message>
    <message>
        <source>Quantize one weight row live: levels, reconstruction and error.</source>
        <translation>Eine Gewichtszeile live quantisieren: Stufen, Rekonstruktion und Fehler.</translation>
    </message>
    <message>
        <source>Start here</source>
        <translation>Hier beginnen</translation>
    </message>
    <message>
        <source>The model</source>
        <translation>Das Modell</translation>
    </message>
    <message>
        <source>Where the parameters are, and how the weights are spread</source>
        <translation>Wo die Parameter liegen und wie die Gewichte verteilt sind</translation>
    </message>
    <message>
        <source>Blocks</source>
        <translation>Blöcke</translation>
    </message>
    <message>
        <source>Linear layers</source>
        <translation>Lineare Schichten</translation>
    </message>
    <message>
        <source>Parameters</source>
        <translation>Parameter</translation>
    </message>
    <message>
        <source>Embedding / attention / MLP</source>
        <translation>Embedding / Attention / MLP</translation>
    </message>
    <message>
        <source>Head</source>
        <translation>Ausgabekopf</translation>
    </message>
    <message>
        <source>tied to the embeddings</source>
        <translation>an die Embeddings gekoppelt</translation>
    </message>
    <message>
        <source>Size</source>
        <translation>Größe</translation>
    </message>
    <message>
        <source>Bits per weight</source>
        <translation>Bits pro Gewicht</translation>
    </message>
    <message>
        <source>Weight type</source>
        <translation>Gewichtstyp</translation>
    </message>
    <message>
        <source>Files</source>
        <translation>Dateien</translation>
    </message>
    <message>
        <source>Tokenizer</source>
        <translation>Tokenizer</translation>
    </message>
    <message>
        <source>Unused tensors</source>
        <translation>Unbenutzte Tensoren</translation>
    </message>
    <message>
        <source>This model is stored quantized; open the float model to compare methods.</source>
        <translation>Dieses Modell ist quantisiert gespeichert; öffnen Sie das Float-Modell, um Methoden zu vergleichen.</translation>
    </message>
    <message>
        <source>Sampling the weights…</source>
        <translation>Gewichte werden abgetastet…</translation>
    </message>
    <message>
        <source>The weights could not be sampled: %1</source>
        <translation>Die Gewichte konnten nicht abgetastet werden: %1</translation>
    </message>
    <message>
        <source>kind</source>
        <translation>Art</translation>
    </message>
    <message>
        <source>parameters</source>
        <translation>Parameter</translation>
    </message>
    <message>
        <source>size</source>
        <translation>Größe</translation>
    </message>
    <message>
        <source>kurtosis</source>
        <translation>Kurtosis</translation>
    </message>
    <message>
        <source>%1 parameters, %2, &lt;b&gt;%3 bits per weight&lt;/b&gt;.</source>
        <translation>%1 Parameter, %2, &lt;b&gt;%3 Bits pro Gewicht&lt;/b&gt;.</translation>
    </message>
    <message>
        <source>Spread from %1 rows of every linear layer and %2 of the embeddings: σ the standard deviation; max|w|/σ how far the largest weight lies, which a quantization grid must reach; kurtosis above 0 means heavier tails than a Gaussian; &amp;gt;6σ the share of outliers.</source>
        <translation>Verteilung aus %1 Zeilen jeder linearen Schicht und %2 der Embeddings: σ die Standardabweichung; max|w|/σ wie weit das größte Gewicht liegt, das ein Quantisierungsraster erreichen muss; eine Kurtosis über 0 bedeutet schwerere Ränder als eine Gauß-Verteilung; &amp;gt;6σ der Anteil der Ausreißer.</translation>
    </message>
    <message>
        <source>Tokenizer warning</source>
        <translation>Tokenizer-Warnung</translation>
    </message>
</context>
<context>
    <name>qs::TensorTableModel</name>
    <message>
        <source>Tensor</source>
        <translation>Tensor</translation>
    </message>
    <message>
        <source>Role</source>
        <translation>Rolle</translation>
    </message>
    <message>
        <source>Type</source>
        <translation>Typ</translation>
    </message>
    <message>
        <source>Shape</source>
        <translation>Form</translation>
    </message>
    <message>
        <source>Parameters</source>
        <translation>Parameter</translation>
    </message>
    <message>
        <source>Size</source>
        <translation>Größe</translation>
    </message>
</context>
<context>
    <name>qs::TextFileField</name>
    <message>
        <source>a text file (%1 in the data folder: Edit › Preferences)</source>
        <translation>eine Textdatei (%1 im Datenordner: Bearbeiten › Einstellungen)</translation>
    </message>
    <message>
        <source>Browse…</source>
        <translation>Durchsuchen…</translation>
    </message>
    <message>
        <source>not set</source>
        <translation>nicht gesetzt</translation>
    </message>
    <message>
        <source>%1 does not exist</source>
        <translation>%1 existiert nicht</translation>
    </message>
    <message>
        <source>%1 is a folder, not a text file</source>
        <translation>%1 ist ein Ordner, keine Textdatei</translation>
    </message>
    <message>
        <source>%1 cannot be read</source>
        <translation>%1 kann nicht gelesen werden</translation>
    </message>
    <message>
        <source>%1 is empty</source>
        <translation>%1 ist leer</translation>
    </message>
    <message>
        <source>%1: %2.</source>
        <translation>%1: %2.</translation>
    </message>
    <message>
        <source>Choose a text file with Browse… next to “%1” on the %2 page, or set the data folder (it holds %3) in Edit › Preferences.</source>
        <translation>Wählen Sie eine Textdatei mit „Durchsuchen…“ neben „%1“ auf der Seite „%2“, oder legen Sie den Datenordner (er enthält %3) unter Bearbeiten › Einstellungen fest.</translation>
    </message>
    <message>
        <source>Choose %1</source>
        <translation>%1 wählen</translation>
    </message>
    <message>
        <source>Text files (*.txt *.raw);;All files (*)</source>
        <translation>Textdateien (*.txt *.raw);;Alle Dateien (*)</translation>
    </message>
</context>
<context>
    <name>qs::TrainingLossPlot</name>
    <message>
        <source>The loss curve appears here once training starts</source>
        <translation>Die Verlustkurve erscheint hier, sobald das Training beginnt</translation>
    </message>
    <message>
        <source>step</source>
        <translation>Schritt</translation>
    </message>
    <message>
        <source>KL divergence from the float model (nats per token)</source>
        <translation>KL-Divergenz zum Float-Modell (nats pro Token)</translation>
    </message>
    <message>
        <source>cross-entropy (nats per token)</source>
        <translation>Kreuzentropie (nats pro Token)</translation>
    </message>
    <message>
        <source>step %1
training loss %2
learning rate %3</source>
        <translation>Schritt %1
Trainingsverlust %2
Lernrate %3</translation>
    </message>
    <message>
        <source>step %1
held-out loss %2</source>
        <translation>Schritt %1
Validierungsverlust %2</translation>
    </message>
    <message>
        <source>training KL</source>
        <translation>Trainings-KL</translation>
    </message>
    <message>
        <source>training loss</source>
        <translation>Trainingsverlust</translation>
    </message>
    <message>
        <source>held-out KL</source>
        <translation>Validierungs-KL</translation>
    </message>
    <message>
        <source>held-out loss</source>
        <translation>Validierungsverlust</translation>
    </message>
    <message>
        <source>kept: step %1</source>
        <translation>behalten: Schritt %1</translation>
    </message>
</context>
</TS>
