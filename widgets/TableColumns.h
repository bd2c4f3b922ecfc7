#pragma once

class QTableView;

namespace qs {

/// Column widths that favour the numbers: every column as wide as its contents, except the name
/// column, which takes the width the numbers leave (at least a third of the view, at most what
/// the names need) and elides a longer name in the middle ("model.lay…mlp.down_proj"); the user
/// can still drag it wider.
void favourNumberColumns(QTableView* view, int nameColumn);

} // namespace qs
