// /api/docs: Swagger UI (vendored in static/vendor/swagger-ui/) reading /api/v1/openapi.json.
// A file, not an inline script, because the CSP allows scripts from 'self' only.
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  if (!root || typeof window.SwaggerUIBundle !== "function") {
    return;
  }
  window.SwaggerUIBundle({
    url: root.dataset.specUrl,
    domNode: root,
    // No deep links: Swagger UI puts each one, a link, inside the operation's toggle button,
    // and a control inside a control is announced badly (axe: nested-interactive).
    deepLinking: false,
    // Paste a token once with "Authorize"; "Try it out" then sends it as a bearer header.
    persistAuthorization: false,
    // No badge from validator.swagger.io: nothing leaves this origin (CSP connect-src 'self').
    validatorUrl: null,
    // Never load a spec named in the address bar (?url=...): only ours is shown.
    queryConfigEnabled: false,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
})();
