namespace RecurrentDepth.Benchmarks.Harness;

/// <summary>Resident-set figures of this process from /proc/self (Linux).</summary>
public static class ProcessMemory
{
    /// <summary>Peak resident set (VmHWM) in bytes, or null where /proc is unavailable.</summary>
    public static long? PeakRssBytes() => ReadStatusKb("VmHWM:") * 1024;

    /// <summary>Current resident set (VmRSS) in bytes, or null where /proc is unavailable.</summary>
    public static long? RssBytes() => ReadStatusKb("VmRSS:") * 1024;

    /// <summary>
    /// Resets the peak (VmHWM) to the current RSS by writing 5 to /proc/self/clear_refs, so that each case reports
    /// its own peak. Returns false where the kernel refuses; peaks are then process-wide.
    /// </summary>
    public static bool TryResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static long? ReadStatusKb(string field)
    {
        const string status = "/proc/self/status";
        if (!File.Exists(status))
        {
            return null;
        }

        var line = File.ReadLines(status).FirstOrDefault(l => l.StartsWith(field, StringComparison.Ordinal));
        return line is null ? null : long.Parse(line[field.Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
    }
}
