# web_assets.cmake: builds the served static folder OUT from the repository's static/ (SRC) and
# the front-end packages in NODE_MODULES (installed from package-lock.json by `npm ci`):
#   - static/ as it is (its src/ folder holds sources, not served files);
#   - assets/app.css compiled from static/src/app.scss with GOV.UK Frontend (sass);
#   - assets/govuk/: GOV.UK Frontend's script and images;
#   - assets/vendor/: Chart.js and Swagger UI.
# Nothing is fetched at run time or from a CDN: every asset is served by the registry itself.
foreach(var SRC OUT NODE_MODULES NODE)
    if(NOT DEFINED ${var})
        message(FATAL_ERROR "web_assets.cmake: ${var} is not set")
    endif()
endforeach()

if(NOT EXISTS "${NODE_MODULES}/govuk-frontend/package.json")
    message(FATAL_ERROR
        "web_assets.cmake: ${NODE_MODULES} has no front-end packages; run `npm ci --ignore-scripts` "
        "at the repository root (deploy/dev.sh does), or configure with -DWEB_ASSETS=OFF")
endif()

file(REMOVE_RECURSE "${OUT}")
file(COPY "${SRC}/" DESTINATION "${OUT}" PATTERN "src" EXCLUDE)

set(GOVUK "${NODE_MODULES}/govuk-frontend/dist/govuk")
file(COPY "${GOVUK}/govuk-frontend.min.js" DESTINATION "${OUT}/assets/govuk")
file(COPY "${GOVUK}/assets/images" DESTINATION "${OUT}/assets/govuk")
file(COPY "${NODE_MODULES}/chart.js/dist/chart.umd.min.js" DESTINATION "${OUT}/assets/vendor")
file(COPY "${NODE_MODULES}/swagger-ui-dist/swagger-ui-bundle.js"
          "${NODE_MODULES}/swagger-ui-dist/swagger-ui.css"
     DESTINATION "${OUT}/assets/vendor/swagger-ui")

execute_process(
    COMMAND "${NODE}" "${NODE_MODULES}/sass/sass.js" --no-source-map --style=compressed
            "--load-path=${NODE_MODULES}" "${SRC}/src/app.scss" "${OUT}/assets/app.css"
    RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "web_assets.cmake: sass failed on ${SRC}/src/app.scss")
endif()
