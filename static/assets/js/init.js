// init.js: loaded by every page (as a module, so only by browsers GOV.UK Frontend supports).
// Marks the body as GOV.UK Frontend does in its page template (the Content-Security-Policy
// allows no inline script, so it happens here) and starts the components that need JavaScript.
import { initAll } from '/assets/govuk/govuk-frontend.min.js';

document.body.classList.add('js-enabled', 'govuk-frontend-supported');
initAll();
