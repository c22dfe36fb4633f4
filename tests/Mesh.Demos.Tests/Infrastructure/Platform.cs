// The tests start processes in their own sessions and find them again through /proc, and signal them through libc:
// they run on Linux, as the demo scripts do.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
