/* Who is calling: the role and claims taken from a verified token, or the anonymous public. */
#ifndef COI_IDENTITY_H
#define COI_IDENTITY_H

enum auth_role {
    ROLE_ANONYMOUS = 0,
    ROLE_ADMIN,
    ROLE_EDITOR,
    ROLE_STEERING,
    ROLE_PARTNER,
    ROLE_COUNT
};

struct identity {
    enum auth_role role;
    char sub[256];  /* "" when anonymous */
    char party[32]; /* steering: the steering-group party */
    char org[40];   /* partner: the organisation code */
};

/* "anonymous", "admin", "editor", "steering", "partner". */
const char *auth_role_name(enum auth_role role);

#endif
