/* docs.js: renders /openapi.json with Swagger UI (served from /assets/vendor/swagger-ui/) on
 * /docs. An external script because the page's Content-Security-Policy allows no inline script.
 * validatorUrl null: Swagger UI would otherwise fetch a badge from an outside validator, and no
 * request may leave the site. */
(function () {
  'use strict';
  if (typeof window.SwaggerUIBundle !== 'function') {
    return;
  }
  window.SwaggerUIBundle({
    url: '/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    validatorUrl: null,
    docExpansion: 'list',
    defaultModelsExpandDepth: 0,
    tryItOutEnabled: false,
    persistAuthorization: false,
  });
})();
