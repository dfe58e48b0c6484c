# static_variants.cmake: adds to a served static folder DIR (made by web_assets.cmake, or a test's)
#   - a content-hashed copy of every style sheet and script under assets/: assets/app.css gets
#     assets/app.<first 8 hex digits of its SHA-256>.css beside it, the same bytes;
#   - DIR/asset-names.json, {"/assets/app.css": "/assets/app.3f2a9c1e.css", ...}: the names the
#     pages link to (server/static.c static_url); the hashed ones may be cached for a year;
#   - FILE.gz beside every text file (gzip -9 -n; only when smaller), served instead of FILE to a
#     client that accepts gzip, by the service (server/static.c) or by nginx (gzip_static).
# The plain names stay, for the modules' imports (./api.mjs) and the style sheet's images.
#
#   cmake -DDIR=<folder> -DGZIP=<gzip program> -P cmake/static_variants.cmake
# or include() it with DIR and GZIP set. Running it again on the same folder changes nothing.
foreach(var DIR GZIP)
    if(NOT DEFINED ${var})
        message(FATAL_ERROR "static_variants.cmake: ${var} is not set")
    endif()
endforeach()

set(hex8 "[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]")
file(GLOB_RECURSE scripts LIST_DIRECTORIES false RELATIVE "${DIR}"
     "${DIR}/assets/*.css" "${DIR}/assets/*.js" "${DIR}/assets/*.mjs")
list(SORT scripts)
set(names "")
foreach(rel IN LISTS scripts)
    if(rel MATCHES "\\.${hex8}\\.[a-z]+$")
        continue() # a hashed copy made by an earlier run
    endif()
    file(SHA256 "${DIR}/${rel}" digest)
    string(SUBSTRING "${digest}" 0 8 short)
    string(REGEX REPLACE "\\.([a-z]+)$" ".${short}.\\1" hashed "${rel}")
    get_filename_component(hashed_dir "${DIR}/${hashed}" DIRECTORY)
    get_filename_component(hashed_name "${hashed}" NAME)
    file(COPY "${DIR}/${rel}" DESTINATION "${DIR}/.hashing")
    get_filename_component(plain_name "${rel}" NAME)
    file(RENAME "${DIR}/.hashing/${plain_name}" "${hashed_dir}/${hashed_name}")
    if(NOT names STREQUAL "")
        string(APPEND names ",\n")
    endif()
    string(APPEND names "  \"/${rel}\": \"/${hashed}\"")
endforeach()
file(REMOVE_RECURSE "${DIR}/.hashing")
file(WRITE "${DIR}/asset-names.json" "{\n${names}\n}\n")

file(GLOB_RECURSE texts LIST_DIRECTORIES false "${DIR}/*.css" "${DIR}/*.js" "${DIR}/*.mjs"
     "${DIR}/*.json" "${DIR}/*.map" "${DIR}/*.svg" "${DIR}/*.html" "${DIR}/*.txt")
list(REMOVE_ITEM texts "${DIR}/asset-names.json")
if(texts)
    # -k keeps FILE, -n leaves the name and time out of the .gz (the same bytes every build), and
    # the .gz gets FILE's modification time, which the service checks (a .gz older than its FILE
    # is stale and not served).
    execute_process(COMMAND "${GZIP}" -9 -n -k -f ${texts} RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "static_variants.cmake: gzip failed in ${DIR}")
    endif()
endif()
foreach(f IN LISTS texts)
    file(SIZE "${f}" plain)
    file(SIZE "${f}.gz" packed)
    if(NOT packed LESS plain)
        file(REMOVE "${f}.gz")
    endif()
endforeach()
