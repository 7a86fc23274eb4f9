/*
 * The pod sandbox process (the "pause" container): holds the pod's namespaces and does
 * nothing else; exits on SIGINT/SIGTERM; reaps nothing (SIGCHLD is ignored by handler).
 * Built statically by scripts/build-image.ts into localhost/pause:3.10, so the test node never
 * pulls a sandbox image from a registry.
 */
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
static void stop(int sig) { (void)sig; _exit(0); }
static void reap(int sig) { (void)sig; }
int main(void) {
  signal(SIGINT, stop); signal(SIGTERM, stop); signal(SIGCHLD, reap);
  for (;;) pause();
}
