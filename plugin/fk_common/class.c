/*
 * Type classes and families: which columns may hold keys and which may
 * join each other.  The names are the profile's typeClass names.
 */
#include "fk.h"

#include <string.h>

static const char *const class_names[] = {
    [FK_CLASS_OTHER] = "other",     [FK_CLASS_INTEGER] = "integer",
    [FK_CLASS_DECIMAL] = "decimal", [FK_CLASS_TEXT] = "text",
    [FK_CLASS_UUID] = "uuid",       [FK_CLASS_TEMPORAL] = "temporal",
    [FK_CLASS_BOOLEAN] = "boolean"};

#define NCLASSES (sizeof class_names / sizeof class_names[0])

fk_class fk_class_from_name(const char *type_class_name)
{
    if (type_class_name == NULL)
        return FK_CLASS_OTHER;
    for (size_t i = 0; i < NCLASSES; i++)
        if (strcmp(class_names[i], type_class_name) == 0)
            return (fk_class)i;
    return FK_CLASS_OTHER;
}

const char *fk_class_name(fk_class c)
{
    return (unsigned)c < NCLASSES ? class_names[c] : "other";
}

fk_family fk_class_family(fk_class c)
{
    switch (c) {
    case FK_CLASS_INTEGER:
    case FK_CLASS_DECIMAL:
        return FK_FAMILY_NUMBER;
    case FK_CLASS_TEXT:
    case FK_CLASS_UUID:
        return FK_FAMILY_TEXT;
    case FK_CLASS_TEMPORAL:
        return FK_FAMILY_TIME;
    default:
        /* Booleans join everything with two values; json and binary are
         * not compared by the engines' = the way we would hash them. */
        return FK_FAMILY_NONE;
    }
}
