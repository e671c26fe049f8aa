/* cli: the command-line twins of the magics, sharing the notebook's state
 * folder (.faaset in the current directory), so a function deployed from a
 * notebook can be called from a shell and the other way round:
 *   faaset deploy FILE.py [--platform P] [--memory MB] [--KEY VALUE ...] [--force]
 *   faaset invoke NAME ['JSON'] [--platform P]
 * deploy runs the file through the local runtime exactly like a
 * %%cloud_function cell; invoke prints the result as JSON. Both exit 1 with
 * the error on stderr when something fails, 2 on bad arguments. */
#ifndef FAASET_CLI_H
#define FAASET_CLI_H

int cli_deploy(int argc, char **argv);
int cli_invoke(int argc, char **argv);

#endif
