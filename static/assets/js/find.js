// find.js: "Use my location" on the Find M-PACT page, for browsers that can tell where they are.
// Without JavaScript (or without geolocation) the button never appears and the postcode form
// works alone. The position goes only into the address of the results page (rounded to about
// 100 m); it is never stored (no cookie, no localStorage) and the page never shows it.
const buttons = document.getElementById('find-buttons');
const radius = document.getElementById('radius');

if (buttons && radius && 'geolocation' in navigator) {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'govuk-button govuk-button--secondary';
  button.textContent = 'Use my location';

  const status = document.createElement('p');
  status.className = 'govuk-body';
  status.id = 'location-status';
  status.setAttribute('role', 'status');

  button.addEventListener('click', () => {
    button.disabled = true;
    status.textContent = 'Finding your location…';
    navigator.geolocation.getCurrentPosition(
      (pos) => {
        const params = new URLSearchParams({
          lat: pos.coords.latitude.toFixed(3),
          lon: pos.coords.longitude.toFixed(3),
          radius: radius.value,
        });
        window.location.assign(`/find?${params}`);
      },
      () => {
        button.disabled = false;
        status.textContent = 'We could not get your location. Enter a postcode instead.';
      },
      { enableHighAccuracy: false, timeout: 15000, maximumAge: 600000 },
    );
  });

  buttons.append(button);
  buttons.after(status);
}

// After a search the results heading takes focus, so a screen reader announces what was found
// and keyboard users start there (the heading has tabindex="-1"); an error summary, when there
// is one, keeps the focus GOV.UK Frontend gives it.
const results = document.getElementById('results');
if (results && !document.querySelector('.govuk-error-summary')) {
  results.focus();
}
