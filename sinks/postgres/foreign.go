package postgres

import "slices"

// During a rolling deploy that adds a field, instances run two files at
// once: one on the new file adds the column online (alterTable), and one
// still on the old file may restart meanwhile. To that one the column is
// foreign: neither its file nor the definition recorded for the served
// documents declares it (fields only added do not change the recorded
// definition until a rebuild), so no file removed it. It starts, and writes
// the column NULL, as its other stores lack the field: a value the newer
// file computed from an older row, left in place, would be stale without
// anything telling so. A column the recorded definition declares and the
// file does not was removed by the file, which needs a rebuild.

// addedOnline reports whether a table column the view does not declare
// was added online by an instance on a newer file: the recorded definition
// (nil: none recorded, so nothing tells) does not declare it either.
func addedOnline(name string, recorded []string) bool {
	return recorded != nil && !slices.Contains(recorded, name)
}

// keep makes the writes into the active generation set its foreign
// columns NULL, and the reader view keep them (see readerColumns). It runs
// while the sink is set up, before any write.
func (v *view) keep(foreign []string) {
	v.foreign = foreign
	v.upsert = upsertSQL(v.View, v.physical(v.Generation), foreign)
}

// ForeignColumns are, by view, the columns of the served table that an
// instance on a newer file added online, as MigrateTables or Check last
// found them: the documents this sink writes leave them NULL until a
// rebuild with the newer file. Views without any are absent.
func (s *Sink) ForeignColumns() map[string][]string {
	out := map[string][]string{}
	for _, v := range s.list {
		if len(v.foreign) > 0 {
			out[v.Name] = slices.Clone(v.foreign)
		}
	}
	return out
}
