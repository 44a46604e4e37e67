package debezium

import (
	"bytes"
	"encoding/json"
)

// transaction reads a transaction metadata record (BEGIN or END).
func (st *dec) transaction(p *path) (Change, error) {
	s := &st.s
	tx := &Transaction{}
	if err := s.expect('{'); err != nil {
		return Change{}, malformed(p, "%v", err)
	}
	var hasStatus, hasID bool
	for first := true; ; first = false {
		k, ok, err := s.nextMember(first)
		if err != nil {
			return Change{}, malformed(p, "%v", err)
		}
		if !ok {
			break
		}
		switch string(k) {
		case "status":
			tx.Status, err = st.optString()
			hasStatus = tx.Status != ""
		case "id":
			tx.ID, err = st.optString()
			hasID = tx.ID != ""
		case "event_count":
			tx.EventCount, err = st.optInt()
		case "ts_ms":
			tx.TsMs, err = st.optInt()
		case "data_collections":
			tx.DataCollections, err = st.dataCollections()
		default:
			if err = s.skip(1); err != nil {
				err = bad("%v", err)
			}
		}
		if err != nil {
			fp := p.field(string(k))
			return Change{}, under(err, &fp)
		}
	}
	if !hasStatus {
		fp := p.field("status")
		return Change{}, malformed(&fp, "missing")
	}
	if !hasID {
		fp := p.field("id")
		return Change{}, malformed(&fp, "missing")
	}
	return Change{Kind: KindTransaction, Transaction: tx}, nil
}

func (st *dec) dataCollections() ([]DataCollection, error) {
	s := &st.s
	if s.null() {
		return nil, nil
	}
	if err := s.expect('['); err != nil {
		return nil, bad("%v", err)
	}
	var out []DataCollection
	for i := 0; ; i++ {
		ok, err := s.nextElem(i == 0)
		if err != nil {
			return nil, bad("%v", err)
		}
		if !ok {
			return out, nil
		}
		dc, err := st.dataCollection()
		if err != nil {
			return nil, prefixErr(err, indexSeg(i))
		}
		out = append(out, dc)
	}
}

func (st *dec) dataCollection() (DataCollection, error) {
	s := &st.s
	var dc DataCollection
	if err := s.expect('{'); err != nil {
		return dc, bad("%v", err)
	}
	for first := true; ; first = false {
		k, ok, err := s.nextMember(first)
		if err != nil {
			return dc, bad("%v", err)
		}
		if !ok {
			return dc, nil
		}
		switch string(k) {
		case "data_collection":
			dc.Name, err = st.optString()
		case "event_count":
			var n *int64
			if n, err = st.optInt(); n != nil {
				dc.EventCount = *n
			}
		default:
			if err = s.skip(1); err != nil {
				err = bad("%v", err)
			}
		}
		if err != nil {
			return dc, prefixErr(err, string(k))
		}
	}
}

// heartbeat reads {"ts_ms": …}, the value of a heartbeat record.
func (st *dec) heartbeat(p *path) (Change, error) {
	s := &st.s
	ch := Change{Kind: KindHeartbeat}
	if err := s.expect('{'); err != nil {
		return Change{}, malformed(p, "%v", err)
	}
	for first := true; ; first = false {
		k, ok, err := s.nextMember(first)
		if err != nil {
			return Change{}, malformed(p, "%v", err)
		}
		if !ok {
			return ch, nil
		}
		fp := p.field(string(k))
		if string(k) == "ts_ms" {
			if ch.Source.TsMs, err = st.optInt(); err != nil {
				return Change{}, under(err, &fp)
			}
			continue
		}
		if err := s.skip(1); err != nil {
			return Change{}, malformed(&fp, "%v", err)
		}
	}
}

// schemaChange reads a schema change (DDL) event.
func (st *dec) schemaChange(p *path) (Change, error) {
	s := &st.s
	sc := &SchemaChange{}
	ch := Change{Kind: KindSchemaChange, SchemaChange: sc}
	if err := s.expect('{'); err != nil {
		return Change{}, malformed(p, "%v", err)
	}
	for first := true; ; first = false {
		k, ok, err := s.nextMember(first)
		if err != nil {
			return Change{}, malformed(p, "%v", err)
		}
		if !ok {
			break
		}
		switch string(k) {
		case "source":
			ch.Source, _, err = st.source()
		case "databaseName":
			sc.DatabaseName, err = st.optString()
		case "schemaName":
			sc.SchemaName, err = st.optString()
		case "ddl":
			sc.DDL, err = st.optString()
		case "tableChanges":
			var raw []byte
			if raw, err = s.span(1); err != nil {
				err = bad("%v", err)
			} else if !bytes.Equal(raw, []byte("null")) {
				sc.TableChanges = json.RawMessage(bytes.Clone(raw))
			}
		default:
			if err = s.skip(1); err != nil {
				err = bad("%v", err)
			}
		}
		if err != nil {
			fp := p.field(string(k))
			return Change{}, under(err, &fp)
		}
	}
	return ch, nil
}
