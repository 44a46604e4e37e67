package projector

import (
	"strconv"
	"strings"

	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/projections"
)

// A partial MongoDB update (1.x oplog $set/$unset, or a change-streams
// update without the full document) is applied to the stored row as a
// patch of dotted paths, inside PostgreSQL, so that it composes with
// concurrent changes under the same position guard as any other change.

// patchFunction is the SQL of jsonb_patch(doc, set, unset), MongoDB's
// $set and $unset: set each dotted path, creating missing objects on the
// way and padding an array with nulls up to an index past its end; then
// remove each unset path, where an array element is set to null instead
// (MongoDB's update/unset_node.cpp: removing it would shift the others).
// An index more than maxArrayPad past an array's end, which MongoDB itself
// refuses, is left out, and so is a set whose padding would take the
// patch's padding past maxArrayPad in all: a document holding more would
// be past MongoDB's 16 MB, so no real update pads more, and a forged one
// must not make a document of millions of nulls.
//
// A path that steps into an array with anything but an index is not
// viable (MongoDB's PathNotViable): a $set through it makes the whole
// patch null, since MongoDB refuses such an update: the document it was
// applied to was another (see applied.Unviable); an $unset through it is
// a no-op, as MongoDB's.
func patchFunction(schema string) string {
	return `CREATE OR REPLACE FUNCTION ` + schema + `.jsonb_patch(doc jsonb, set_ jsonb, unset_ text[])
RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $fn$
DECLARE
	k text;
	v jsonb;
	p text[];
	n int;
	i int;
	c jsonb;
	padded int := 0;
BEGIN
	doc := coalesce(doc, '{}'::jsonb);
	<<sets>>
	FOR k, v IN SELECT * FROM jsonb_each(coalesce(set_, '{}'::jsonb)) LOOP
		p := string_to_array(k, '.');
		n := coalesce(array_length(p, 1), 1);
		FOR i IN 1 .. n LOOP
			c := doc #> p[1:i-1]; -- what step i goes into
			IF jsonb_typeof(c) = 'array' AND p[i] !~ '^[0-9]{1,9}$' THEN
				RETURN NULL;
			END IF;
			IF jsonb_typeof(c) = 'array' AND p[i]::int >= jsonb_array_length(c) THEN
				CONTINUE sets WHEN padded + p[i]::int - jsonb_array_length(c) >= ` + strconv.Itoa(maxArrayPad) + `;
				padded := padded + p[i]::int + 1 - jsonb_array_length(c);
				c := c || (SELECT jsonb_agg('null'::jsonb) FROM generate_series(jsonb_array_length(c), p[i]::int));
				doc := CASE WHEN i = 1 THEN c ELSE jsonb_set(doc, p[1:i-1], c) END;
			END IF;
			IF i < n AND jsonb_typeof(doc #> p[1:i]) IS DISTINCT FROM 'object'
				AND jsonb_typeof(doc #> p[1:i]) IS DISTINCT FROM 'array' THEN
				doc := jsonb_set(doc, p[1:i], '{}'::jsonb, true);
			END IF;
		END LOOP;
		doc := jsonb_set(doc, p, v, true);
	END LOOP;
	IF unset_ IS NOT NULL THEN
		<<unsets>>
		FOREACH k IN ARRAY unset_ LOOP
			p := string_to_array(k, '.');
			n := coalesce(array_length(p, 1), 1);
			FOR i IN 1 .. n - 1 LOOP
				CONTINUE unsets WHEN jsonb_typeof(doc #> p[1:i-1]) = 'array' AND p[i] !~ '^[0-9]{1,9}$';
			END LOOP;
			IF jsonb_typeof(doc #> p[1:n-1]) = 'array' THEN
				IF p[n] ~ '^[0-9]{1,9}$' THEN
					doc := jsonb_set(doc, p, 'null'::jsonb, false);
				END IF;
			ELSE
				doc := doc #- p;
			END IF;
		END LOOP;
	END IF;
	RETURN doc;
END
$fn$`
}

// maxArrayPad is how many nulls MongoDB pads an array with at most
// (1,500,000: "can't backfill more than" in its update code).
const maxArrayPad = 1_500_000

// truncateFunction is the SQL of jsonb_truncate(doc, trunc): cut the array
// at each dotted path of trunc to the length it maps it to, before the
// patch's sets (MongoDB reports truncatedArrays apart from them).
func truncateFunction(schema string) string {
	return `CREATE OR REPLACE FUNCTION ` + schema + `.jsonb_truncate(doc jsonb, trunc_ jsonb)
RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $fn$
DECLARE
	k text;
	n bigint;
	p text[];
	a jsonb;
BEGIN
	IF trunc_ IS NULL OR doc IS NULL THEN
		RETURN doc;
	END IF;
	FOR k, n IN SELECT key, value::bigint FROM jsonb_each_text(trunc_) LOOP
		p := string_to_array(k, '.');
		a := doc #> p;
		IF jsonb_typeof(a) = 'array' AND jsonb_array_length(a) > n THEN
			doc := jsonb_set(doc, p, coalesce((SELECT jsonb_agg(e ORDER BY i)
				FROM jsonb_array_elements(a) WITH ORDINALITY AS x(e, i) WHERE i <= n), '[]'::jsonb));
		END IF;
	END LOOP;
	RETURN doc;
END
$fn$`
}

// slimPatch keeps the paths of a patch whose top-level column the state
// keeps (all of them when the source keeps every column).
func slimPatch(src *projections.Source, p *debezium.Patch) (set map[string]any, unset []string, truncate map[string]int64) {
	keep := func(path string) bool {
		if len(src.Kept) == 0 {
			return true
		}
		top, _, _ := strings.Cut(path, ".")
		for _, k := range src.Kept {
			if k == top {
				return true
			}
		}
		return false
	}
	set = map[string]any{}
	for path, v := range p.Set {
		if keep(path) {
			set[path] = debezium.Exact(v)
		}
	}
	for _, path := range p.Unset {
		if keep(path) {
			unset = append(unset, path)
		}
	}
	for path, n := range p.Truncated {
		if keep(path) {
			if truncate == nil {
				truncate = map[string]int64{}
			}
			truncate[path] = n
		}
	}
	return set, unset, truncate
}
