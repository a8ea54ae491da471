// LTI client-side storage (lti.put_data / lti.get_data over postMessage) for
// platforms that offer it through lti_storage_target: it keeps the login's
// browser binding in the platform's window when examgate's cookie is
// dropped inside the platform's iframe.
// After Dynamic Registration, the platform closes its registration frame
// when told to (LTI Dynamic Registration 1.0, 3.7).
(function () {
  if (!document.getElementById('lti-close')) return;
  (window.opener || window.parent).postMessage({ subject: 'org.imsglobal.lti.close' }, '*');
})();
(function () {
  var el = document.getElementById('lti-storage');
  if (!el) return;
  var d = el.dataset;
  var target = d.target === '_parent' ? window.parent : window.parent.frames[d.target];
  var id = 'examgate-' + Math.random().toString(36).slice(2);
  var done = false;
  function finish(value) {
    if (done) return;
    done = true;
    if (d.mode === 'put') {
      window.location.replace(d.next);
      return;
    }
    var form = document.getElementById('lti-form');
    if (value) form.elements.binding.value = value;
    form.submit();
  }
  window.addEventListener('message', function (e) {
    var m = e.data;
    if (e.origin !== d.origin || !m || m.message_id !== id) return;
    if (m.subject === 'lti.put_data.response') finish();
    if (m.subject === 'lti.get_data.response') finish(m.error ? '' : m.value);
  });
  setTimeout(function () { finish(''); }, 3000); // a platform that never answers
  if (!target || target === window) { finish(''); return; }
  var msg = { subject: d.mode === 'put' ? 'lti.put_data' : 'lti.get_data', message_id: id, key: d.key };
  if (d.mode === 'put') msg.value = d.value;
  try { target.postMessage(msg, d.origin); } catch (err) { finish(''); }
})();
