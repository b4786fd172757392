namespace RecurrentDepth.SemanticKernel;

/// <summary>Errors about a setting, with the setting's snake_case name as <see cref="ArgumentException.ParamName"/>.</summary>
internal static class SettingErrors
{
    public static ArgumentOutOfRangeException OutOfRange(string setting, object? value, string message) => new(setting, value, message);

    public static ArgumentException Invalid(string setting, string message) => new(message, setting);
}
