// Enhancements only: every page works without JavaScript.
// CSRF token for htmx requests (forms carry it too), and the upload progress bar (DOC-8).
document.addEventListener("htmx:configRequest", function (event) {
  var field = document.querySelector("input[name=csrf]");
  if (field) { event.detail.headers["X-CSRF-Token"] = field.value; }
});
document.addEventListener("htmx:xhr:progress", function (event) {
  var bar = document.getElementById("upload-progress");
  if (bar && event.detail.lengthComputable) {
    bar.hidden = false;
    bar.value = Math.round((event.detail.loaded / event.detail.total) * 100);
  }
});
document.addEventListener("htmx:afterRequest", function () {
  var bar = document.getElementById("upload-progress");
  if (bar) { bar.hidden = true; }
});
