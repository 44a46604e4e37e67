package projtest

import (
	"strings"
	"testing"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/projections"
)

// postsCfg embeds each post's two latest comments, and counts all of them.
const postsCfg = head + `sources:
  posts:
    topic: blog.public.posts
    key: id
    columns: { id: bigint, title: text }
  comments:
    topic: blog.public.comments
    key: id
    columns: { id: bigint, post_id: bigint, body: text, hidden: boolean }
views:
  post_view:
    from: posts
    fields:
      id: id
      title: title
      latest:
        many: comments
        on: { post_id: id }
        where: "!hidden"
        order_by: [-id]
        limit: 2
        fields: { id: id, body: body }
      comment_count: { agg: count, of: latest }
      shown: { expr: "len(latest)", type: integer }
    sinks: { postgres: { table: post_view } }
`

// TestManyLimit: limit keeps the first items in order_by order, after
// where; aggregates over the array count every row, and expressions see
// the array as the document holds it. A deleted item lets the next one in.
func TestManyLimit(t *testing.T) {
	expectPass(t, postsCfg, `  - name: the two latest of three
    given:
      - { source: posts, after: { id: 1, title: Hello } }
      - { source: comments, after: { id: 10, post_id: 1, body: first, hidden: false } }
      - { source: comments, after: { id: 11, post_id: 1, body: second, hidden: false } }
      - { source: comments, after: { id: 12, post_id: 1, body: third, hidden: false } }
      - { source: comments, after: { id: 13, post_id: 1, body: spam, hidden: true } }
    expect:
      post_view:
        "1":
          latest: [ { id: 12, body: third }, { id: 11, body: second } ]
          comment_count: 3
          shown: 2
  - name: a deleted item lets the next one in
    given:
      - { source: posts, after: { id: 1, title: Hello } }
      - { source: comments, after: { id: 10, post_id: 1, body: first, hidden: false } }
      - { source: comments, after: { id: 11, post_id: 1, body: second, hidden: false } }
      - { source: comments, after: { id: 12, post_id: 1, body: third, hidden: false } }
      - { source: comments, op: d, before: { id: 12 } }
    expect:
      post_view:
        "1":
          latest: [ { id: 11, body: second }, { id: 10, body: first } ]
          comment_count: 2
  - name: fewer items than the limit
    given:
      - { source: posts, after: { id: 1, title: Hello } }
      - { source: comments, after: { id: 10, post_id: 1, body: first, hidden: false } }
    expect:
      post_view: { "1": { latest: [ { id: 10, body: first } ], comment_count: 1, shown: 1 } }
`)
}

// TestManyLimitValidation: limit belongs to many and is positive.
func TestManyLimitValidation(t *testing.T) {
	for _, c := range []struct{ field, want string }{
		{`{ one: comments, on: { id: id }, limit: 2, fields: { body: body } }`, "limit is only valid with many"},
		{`{ column: title, limit: 2 }`, "limit is only valid with many"},
		{`{ many: comments, on: { post_id: id }, limit: 0, fields: { body: body } }`, "limit must be positive, got 0"},
		{`{ many: comments, on: { post_id: id }, limit: -3, fields: { body: body } }`, "limit must be positive, got -3"},
		{`{ many: comments, on: { post_id: id }, limit: two, fields: { body: body } }`, "limit"},
	} {
		cfg := strings.Replace(postsCfg, "      comment_count: { agg: count, of: latest }\n      shown: { expr: \"len(latest)\", type: integer }\n",
			"      extra: "+c.field+"\n", 1)
		err := loadErr(t, cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "projector.yaml:") {
			t.Errorf("%s: %v; want an error at projector.yaml:line:col saying %q", c.field, err, c.want)
		}
	}
}

// loadErr is what loading and compiling cfg, as projector.yaml, reports.
func loadErr(t *testing.T, cfg string) error {
	t.Helper()
	c, err := config.Parse("projector.yaml", []byte(cfg), func(string) (string, bool) { return "", false })
	if err != nil {
		return err
	}
	_, err = projections.Compile(c)
	return err
}
