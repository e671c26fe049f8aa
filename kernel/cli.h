/* cli: the command-line twins of the magics, sharing the notebook's state
 * folder (.faaset in the current directory), so a function deployed from a
 * notebook can be called from a shell and the other way round:
 *   faaset deploy FILE.py [--platform P] [--memory MB] [--KEY VALUE ...] [--force]
 *   faaset invoke NAME ['JSON'] [--platform P]
 *   faaset run -f FUNCTION.json [-f NEXT.json ...] -e EXPERIMENT.json [-o DIR]
 * deploy runs the file through the local runtime exactly like a
 * %%cloud_function cell; invoke prints the result as JSON; run is FaaS
 * Runner's command: a FaaS Runner function file ({"function", "platform",
 * "endpoint"}; platform "HTTP" POSTs to the endpoint; several make a
 * pipeline) and experiment file,
 * rows in DIR/FUNCTION/NAME-TIME (default faaset-results), progress on
 * stderr, the summary as JSON on stdout, Ctrl-C stops it keeping every
 * finished row. All exit 1 with the error on stderr when something fails,
 * 2 on bad arguments. */
#ifndef FAASET_CLI_H
#define FAASET_CLI_H

int cli_deploy(int argc, char **argv);
int cli_invoke(int argc, char **argv);
/* faaset delete NAME [--platform P] */
int cli_delete(int argc, char **argv);
int cli_run(int argc, char **argv);

#endif
