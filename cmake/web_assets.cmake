# web_assets.cmake: builds the served static folder OUT from the repository's static/ (SRC) and
# the front-end packages in NODE_MODULES (installed from package-lock.json by `npm ci`):
#   - static/ as it is (its src/ folder holds sources, not served files);
#   - assets/app.css: GOV.UK Frontend's compiled style sheet, rewritten for our font stack and
#     assets path, followed by our own plain CSS (static/src/app.css). No sass and no node: the
#     build runs on Debian 12's packages alone (its nodejs 18 is older than sass 1.108 accepts);
#   - assets/govuk/: GOV.UK Frontend's script and images;
#   - assets/vendor/: Chart.js (the API documentation, /docs, is drawn by our own
#     assets/js/docs.js, with no third-party renderer);
#   - then, by static_variants.cmake, content-hashed copies of the style sheets and scripts, their
#     list (asset-names.json) and a .gz beside every text file.
# Nothing is fetched at run time or from a CDN: every asset is served by the registry itself.
foreach(var SRC OUT NODE_MODULES GZIP)
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

# GOV.UK Frontend's compiled CSS is what its sass gives with the default settings. Ours differ in
# three ways, made here as text edits of the minified file: no GOV.UK Transport typeface (this is
# not a GOV.UK service; its @font-face rules go and the font stack is arial, sans-serif), images
# under /assets/govuk/images/ rather than /assets/images/, and no source map comment (the map is
# not served). A GOV.UK Frontend upgrade that changes how these read fails here, not in a browser.
if(EXISTS "${SRC}/src/app.scss")
    message(FATAL_ERROR "web_assets.cmake: static/src/app.scss is no longer compiled (there is no "
        "sass in the build); write its rules as plain CSS in static/src/app.css")
endif()
file(READ "${GOVUK}/govuk-frontend.min.css" css)
string(REGEX REPLACE "@font-face{[^}]*}" "" css "${css}")
string(REPLACE "font-family:GDS Transport,arial,sans-serif" "font-family:arial,sans-serif" css
       "${css}")
string(REPLACE "url(/assets/images/" "url(/assets/govuk/images/" css "${css}")
string(REGEX REPLACE "/\\*# sourceMappingURL=[^*]*\\*/" "" css "${css}")
foreach(left "GDS Transport" "/assets/fonts/" "url(/assets/images/" "sourceMappingURL"
        "@font-face")
    string(FIND "${css}" "${left}" at)
    if(NOT at EQUAL -1)
        message(FATAL_ERROR "web_assets.cmake: govuk-frontend.min.css still has \"${left}\" after "
            "the rewrite; GOV.UK Frontend changed, update cmake/web_assets.cmake")
    endif()
endforeach()
string(FIND "${css}" "url(/assets/govuk/images/" at)
if(at EQUAL -1)
    message(FATAL_ERROR "web_assets.cmake: govuk-frontend.min.css names no images any more; "
        "GOV.UK Frontend changed, update cmake/web_assets.cmake")
endif()
file(READ "${SRC}/src/app.css" own)
string(STRIP "${css}" css)
file(WRITE "${OUT}/assets/app.css" "${css}\n${own}")

set(DIR "${OUT}")
include("${CMAKE_CURRENT_LIST_DIR}/static_variants.cmake")
