package stack

import (
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/projectorhq/projector/internal/definition"
	"github.com/projectorhq/projector/internal/rebuild/registry"
	"github.com/projectorhq/projector/sinks/postgres"
)

// NoteRecordedColumns gives each PostgreSQL view the columns of the
// definition the registry recorded for its served documents
// (postgres.View.Recorded): a table column neither the file nor that
// definition declares was added online by an instance on a newer file
// during a rolling deploy, which an instance on this file accepts, where
// one only the recorded definition declares was removed by this file,
// which needs a rebuild. Fields only added do not change the recorded
// definition until a rebuild's swap, so a column added online stays
// foreign to every file that lacks it until then.
func NoteRecordedColumns(views []postgres.View, recorded map[string]registry.Definition) {
	for i := range views {
		if rec, ok := recorded[views[i].Name]; ok {
			views[i].Recorded = recordedColumns(rec)
		}
	}
}

// recordedColumns are the PostgreSQL columns of a recorded definition, as
// PostgresViews makes them of a file's view: its top-level fields, only
// those its sink's fields name (and the id) when it names some. Nil when
// the definition cannot be read: then no column is taken for added online.
func recordedColumns(rec registry.Definition) []string {
	d, err := definition.Parse(rec.JSON)
	if err != nil {
		return nil
	}
	var only []string
	if p := d.Sinks.Postgres; p != nil {
		only = p.Fields
	}
	var cols []string
	for _, f := range d.Fields {
		if len(only) == 0 || slices.Contains(only, f.Name) || slices.Contains(d.ID, f.Name) {
			cols = append(cols, f.Name)
		}
	}
	return cols
}

// AddedOnlineNote says what an instance on this file does with the columns
// of a view's table a newer file added online (postgres.Sink.ForeignColumns).
func AddedOnlineNote(view string, columns []string) string {
	quoted := make([]string, len(columns))
	for i, c := range columns {
		quoted[i] = strconv.Quote(c)
	}
	what, it, field := "column "+quoted[0]+" is", "it", "field"
	if len(quoted) > 1 {
		what, it, field = "columns "+strings.Join(quoted, ", ")+" are", "them", "fields"
	}
	return fmt.Sprintf("postgres %s declared neither by this file nor by the definition its documents were computed with: "+
		"an instance on a newer file added %s online; the documents this file writes leave %s NULL, as its other stores lack the %s; "+
		"`projector rebuild %s` once every instance runs the newer file", what, it, it, field, view)
}

// warnAddedOnline warns once per view whose table has columns a newer file
// added online.
func warnAddedOnline(log *slog.Logger, sink *postgres.Sink) {
	foreign := sink.ForeignColumns()
	for _, view := range slices.Sorted(maps.Keys(foreign)) {
		log.Warn("view "+view+": "+AddedOnlineNote(view, foreign[view]), "view", view, "columns", strings.Join(foreign[view], ", "))
	}
}
