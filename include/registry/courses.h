/* courses.h: the routes of courses.c (/v1/courses). */
#ifndef REGISTRY_COURSES_H
#define REGISTRY_COURSES_H

#include "registry/db.h"
#include "registry/resource.h"

extern const struct db_stmt courses_stmts[];
extern const struct resource course_resource;

#endif
