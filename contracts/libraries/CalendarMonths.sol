// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title CalendarMonths: add whole calendar months to a unix time (UTC, proleptic Gregorian)
/// @dev Howard Hinnant's days-from-civil and civil-from-days algorithms, for times from 1970 on.
/// The day of the month is kept, or clamped to the last day of a shorter month
/// (31 January + 1 month = 28 or 29 February); the time of day is kept.
library CalendarMonths {
    uint256 private constant _DAY = 86_400;

    function add(uint256 timestamp, uint256 months) internal pure returns (uint256) {
        (uint256 y, uint256 m, uint256 d) = civilFromDays(timestamp / _DAY);
        uint256 total = m - 1 + months;
        y += total / 12;
        m = total % 12 + 1;
        uint256 last = daysInMonth(y, m);
        if (d > last) d = last;
        return daysFromCivil(y, m, d) * _DAY + timestamp % _DAY;
    }

    function daysInMonth(uint256 y, uint256 m) internal pure returns (uint256) {
        if (m == 2) return (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)) ? 29 : 28;
        return (m == 4 || m == 6 || m == 9 || m == 11) ? 30 : 31;
    }

    /// @dev Days since 1970-01-01 of a date in 1970 or later.
    function daysFromCivil(uint256 y, uint256 m, uint256 d) internal pure returns (uint256) {
        if (m <= 2) y -= 1;
        uint256 era = y / 400;
        uint256 yoe = y - era * 400;
        uint256 doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
        uint256 doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146_097 + doe - 719_468;
    }

    function civilFromDays(uint256 z) internal pure returns (uint256 y, uint256 m, uint256 d) {
        z += 719_468;
        uint256 era = z / 146_097;
        uint256 doe = z - era * 146_097;
        uint256 yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        y = yoe + era * 400;
        uint256 doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        uint256 mp = (5 * doy + 2) / 153;
        d = doy - (153 * mp + 2) / 5 + 1;
        m = mp < 10 ? mp + 3 : mp - 9;
        if (m <= 2) y += 1;
    }
}
