package projector_test

import (
	"testing"

	"github.com/projectorhq/projector/projector"
)

const R29mStructKeyYAML = `
sources:
  groups: { topic: t.public.groups, format: json, key: dn, columns: { dn: text, name: text } }
  members: { topic: t.public.members, format: json, key: id, columns: { id: bigint, group_dn: text } }
views:
  group_view:
    from: groups
    fields:
      dn: dn
      name: name
    sinks: { postgres: {} }
  member_view:
    from: members
    fields:
      id: id
      group: { one: groups, on: { dn: group_dn }, column: name }
    sinks: { postgres: {} }
`

// TestR29mStructKeyWithCommaEquals: a text key printed by the
// StringConverter holds ",ou=" (an LDAP DN as primary key): the key's one
// field is the whole text, as the row has it.
func TestR29mStructKeyWithCommaEquals(t *testing.T) {
	r := newReviewRig(t, R29mStructKeyYAML, true)
	g := r.rec("groups", "c", m("dn", "x"), nil, m("dn", "cn=admins,ou=people", "name", "Admins"), 0)
	g.Key = []byte("Struct{dn=cn=admins,ou=people}")
	r.process([]projector.Record{g, r.rec("members", "c", m("id", 1), nil, m("id", 1, "group_dn", "cn=admins,ou=people"), 0)})
	r.expect("group_view", map[string]string{"cn=admins,ou=people": `{"name":"Admins"}`})
	r.expect("member_view", map[string]string{"1": `{"group":"Admins"}`})
}
