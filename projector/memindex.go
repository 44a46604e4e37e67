package projector

// valueIndex is the keys of a source's rows (deleted ones too) by the text
// of a column's value (text, as rowsByColumn compares it); a row without
// the column, or with null, is in none.
type valueIndex map[string]map[string]bool

func (x valueIndex) add(v any, key string) {
	t, ok := text(v)
	if !ok {
		return
	}
	if x[t] == nil {
		x[t] = map[string]bool{}
	}
	x[t][key] = true
}

func (x valueIndex) remove(v any, key string) {
	if t, ok := text(v); ok {
		delete(x[t], key)
		if len(x[t]) == 0 {
			delete(x, t)
		}
	}
}

// index is the index of src's rows by col, built on its first use.
func (s *memState) index(src, col string) valueIndex {
	if x := s.byValue[src][col]; x != nil {
		return x
	}
	x := valueIndex{}
	for k, r := range s.rows[src] {
		x.add(r.data[col], k)
	}
	if s.byValue[src] == nil {
		s.byValue[src] = map[string]valueIndex{}
	}
	s.byValue[src][col] = x
	return x
}

// put stores r as the row of src at key, or removes that row (!ok), and
// updates the source's indexes: every write of a row, and its undoing,
// goes through it.
func (s *memState) put(src, key string, r memRow, ok bool) {
	table := s.rows[src]
	if old, had := table[key]; had {
		for col, x := range s.byValue[src] {
			x.remove(old.data[col], key)
		}
	}
	if !ok {
		delete(table, key)
		return
	}
	table[key] = r
	for col, x := range s.byValue[src] {
		x.add(r.data[col], key)
	}
}
