/* af_glob.h - shell-style pattern matching (*, ?, [set], \) without locale
   or allocation, so that it can run inside malloc. */
#ifndef AF_GLOB_H
#define AF_GLOB_H

/* 1 when name matches pattern. '*' also matches '/'. */
int af_glob(const char *pattern, const char *name);
/* 1 when pattern has no special character, so it can only match itself. */
int af_glob_is_literal(const char *pattern);
/* The fewest bytes a name matching the (well formed) pattern has. */
int af_glob_min_len(const char *pattern);
/* 0 when pattern is well formed; otherwise a short reason. */
const char *af_glob_check(const char *pattern);

#endif
