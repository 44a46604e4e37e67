package debezium

// sourceInts holds the numbers of one source block, so that the pointers
// of Source share one allocation.
type sourceInts struct {
	lsn, txID, tsMs, ord, sec, commit int64
}

// source reads the envelope's source block by member name. It returns 0.x
// MongoDB's source.sec (oplog seconds) apart: Source has no field for it.
func (st *dec) source() (Source, *int64, error) {
	var (
		src  Source
		sec  *int64
		ints *sourceInts
	)
	s := &st.s
	if s.null() {
		return src, nil, nil
	}
	if err := s.expect('{'); err != nil {
		return src, nil, bad("%v", err)
	}
	for first := true; ; first = false {
		k, ok, err := s.nextMember(first)
		if err != nil {
			return src, nil, bad("%v", err)
		}
		if !ok {
			return src, sec, nil
		}
		var (
			target *string
			num    **int64
			slot   *int64
		)
		if ints == nil {
			ints = &sourceInts{}
		}
		switch string(k) {
		case "connector":
			target = &src.Connector
		case "name":
			target = &src.Name
		case "db":
			target = &src.DB
		case "schema":
			target = &src.Schema
		case "table":
			target = &src.Table
		case "collection":
			target = &src.Collection
		case "ns": // MongoDB 0.x: "db.collection"
			var ns string
			if ns, err = st.optString(); err == nil {
				if db, coll, ok := cutDot(ns); ok {
					src.DB, src.Collection = db, coll
				}
			}
		case "snapshot", "initsync": // initsync: MongoDB 0.x's boolean marker
			src.Snapshot, err = st.snapshot()
		case "lsn":
			num, slot = &src.LSN, &ints.lsn
		case "sequence":
			var seq []byte
			if !s.null() {
				if s.peek() != '"' {
					err = st.unexpected("a string", s.peek())
				} else if seq, err = st.str(); err == nil {
					if n, ok := commitLSN(seq); ok {
						ints.commit = n
						src.CommitLSN = &ints.commit
					}
				}
			}
		case "txId":
			num, slot = &src.TxID, &ints.txID
		case "ts_ms":
			num, slot = &src.TsMs, &ints.tsMs
		case "ord":
			num, slot = &src.Ord, &ints.ord
		case "sec":
			num, slot = &sec, &ints.sec
		default:
			if err = s.skip(1); err != nil {
				err = bad("%v", err)
			}
		}
		switch {
		case err != nil:
		case target != nil:
			*target, err = st.internString()
		case num != nil:
			var present bool
			if present, err = st.intInto(slot); err == nil && present {
				*num = slot
			}
		}
		if err != nil {
			return src, nil, prefixErr(err, string(k))
		}
	}
}

func cutDot(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			return s[:i], s[i+1:], true
		}
	}
	return "", "", false
}

func (st *dec) optString() (string, error) {
	if st.s.null() {
		return "", nil
	}
	if st.s.peek() != '"' {
		return "", st.unexpected("a string", st.s.peek())
	}
	b, err := st.str()
	return string(b), err
}

// internString reads an optional string, sharing the allocation with the
// previous records that had the same text (source names repeat).
func (st *dec) internString() (string, error) {
	if st.s.null() {
		return "", nil
	}
	if st.s.peek() != '"' {
		return "", st.unexpected("a string", st.s.peek())
	}
	b, err := st.str()
	if err != nil {
		return "", err
	}
	return st.strings.intern(b), nil
}

func (st *dec) optInt() (*int64, error) {
	var n int64
	present, err := st.intInto(&n)
	if err != nil || !present {
		return nil, err
	}
	return &n, nil
}

// intInto reads an optional integer into dst; present is false for null.
func (st *dec) intInto(dst *int64) (present bool, err error) {
	if st.s.null() {
		return false, nil
	}
	v, err := st.value(intCodec, 1)
	if err != nil {
		return false, err
	}
	*dst = v.(int64)
	return true, nil
}

var intCodec = &codec{kind: kInt}

// snapshot normalises source.snapshot: a string enum, or a boolean in 0.x
// and in the documentation; "false" and false are "".
func (st *dec) snapshot() (string, error) {
	switch tok := st.s.peek(); tok {
	case 'n':
		return "", st.lit("null")
	case 't':
		return "true", st.lit("true")
	case 'f':
		return "", st.lit("false")
	case '"':
		b, err := st.str()
		if err != nil {
			return "", err
		}
		if string(b) == "false" {
			return "", nil
		}
		return st.strings.intern(b), nil
	default:
		return "", st.unexpected("a string or boolean", tok)
	}
}
