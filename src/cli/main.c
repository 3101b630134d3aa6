/*
 * main.c — the shopkeeper program: one table of subcommands.
 */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

#ifndef SHOPKEEPER_VERSION
#define SHOPKEEPER_VERSION "dev"
#endif

static const struct cmd commands[] = {
    {"serve", cmd_serve, "run the HTTP service (API and pages)"},
    {"admin", cmd_admin, "create operators, brands, staff and stores from the command line"},
    {"demo", cmd_demo, "fill an empty database with three demo brands and a dozen shoppers"},
    {"simulate", cmd_simulate, "act as the demo's devices and scanners against a running server"},
    {"train", cmd_train, "retrain a brand's suggestion model in the running service"},
    {"sweep", cmd_sweep, "remove visits and access-log entries past their retention"},
    {"import", cmd_import, "import a brand's catalogue or historic purchases from CSV"},
    {"migrate-data", cmd_migrate_data, "copy a SQLite database into an empty PostgreSQL one"},
    {"routes", cmd_routes, "print the HTTP route table as JSON"},
    {"version", cmd_version, "print the version"},
};

static void usage(FILE *f)
{
    fprintf(f,
            "shopkeeper — consent-first customer recognition for retail chains\n\n"
            "usage: shopkeeper COMMAND [OPTIONS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-13s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'shopkeeper COMMAND --help' explains a command.\n");
}

int cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("shopkeeper %s\n", SHOPKEEPER_VERSION);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) return cmd_version(0, NULL);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "shopkeeper: unknown command \"%s\"\n\n", argv[1]);
    usage(stderr);
    return 2;
}
