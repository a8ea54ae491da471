package ltitest

import (
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
)

func scriptHash(script string) string {
	sum := sha256.Sum256([]byte(script))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// storageScript implements the platform side of the LTI client-side
// postMessage storage: lti.put_data and lti.get_data from the tool's frame,
// kept per tool origin, answered to the asking window only.
const storageScript = `(function(){
var store = new Map();
window.addEventListener('message', function (e) {
  var m = e.data;
  if (!m || typeof m !== 'object' || typeof m.subject !== 'string' || !e.source) return;
  var reply = {message_id: m.message_id, key: m.key};
  if (m.subject === 'lti.capabilities') {
    e.source.postMessage({subject: 'lti.capabilities.response', message_id: m.message_id,
      supported_messages: [{subject: 'lti.put_data'}, {subject: 'lti.get_data'}]}, e.origin);
  } else if (m.subject === 'lti.put_data') {
    store.set(e.origin + ' ' + m.key, String(m.value));
    reply.subject = 'lti.put_data.response'; reply.value = m.value;
    e.source.postMessage(reply, e.origin);
  } else if (m.subject === 'lti.get_data') {
    reply.subject = 'lti.get_data.response';
    var k = e.origin + ' ' + m.key;
    if (store.has(k)) { reply.value = store.get(k); } else { reply.error = {code: 'bad_request', message: 'no such key'}; }
    e.source.postMessage(reply, e.origin);
  }
});
})();`

var coursePage = template.Must(template.New("course").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Course · LTI platform simulator</title>
<style>body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#eef2f7}
header{background:#0f766e;color:#fff;padding:.75rem 1rem}iframe{border:0;width:100%;height:calc(100vh - 3.5rem);background:#fff}</style>
</head><body>
<header>LTI platform simulator · {{.Title}} · the exam opens below in the tool's frame</header>
<iframe name="tool" title="examgate exam" src="{{.Start}}" allow="fullscreen"></iframe>
<script>{{.Script}}</script>
</body></html>
`))

// serveCourse is the platform's course page: the tool opens in an iframe,
// as most platforms show it, and the page offers postMessage storage.
func (p *Platform) serveCourse(w http.ResponseWriter, r *http.Request) {
	hint := r.URL.Query().Get("hint")
	if p.LoginParams(hint) == nil {
		http.Error(w, "unknown launch", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; script-src "+scriptHash(storageScript)+"; frame-src *; frame-ancestors 'self'")
	_ = coursePage.Execute(w, map[string]any{
		"Title":  "Course",
		"Start":  "start?storage=1&hint=" + url.QueryEscape(hint),
		"Script": template.JS(storageScript),
	})
}
