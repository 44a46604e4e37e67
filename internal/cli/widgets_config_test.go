package cli

import "testing"

// widgetsConfig writes a configuration of one view over the widgets
// source, for tests of the commands around it: head is everything above
// sources (version, kafka, stores, admin, log), sinks the view's sinks.
func widgetsConfig(t *testing.T, head, sinks string) string {
	t.Helper()
	return writeConfig(t, "version: 1\n"+head+`
sources:
  widgets:
    topic: cqrs.public.widgets
    key: id
    columns: { id: text, name: text }
views:
  widget_view:
    from: widgets
    fields: { id: id, name: name }
    sinks: `+sinks+"\n")
}
